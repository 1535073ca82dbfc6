namespace Vessel.Core.Accel.CpuModels;

/// <summary>
/// What the guest will see, once a <see cref="CpuModelSpec"/> has met an accelerator: the features both name and
/// implement, the vendor and signature, and one warning per thing asked for that could not be given.
/// </summary>
public sealed record ResolvedCpuModel(
    string? Vendor, int Family, int ModelNumber, int Stepping, string? ModelId, CpuFeatureSet Features, IReadOnlyList<string> Warnings)
{
    /// <summary>Resolves <paramref name="spec"/> against what <paramref name="acceleratorName"/> implements (<paramref name="implemented"/>).</summary>
    /// <remarks>
    /// QEMU's rule (x86_cpu_filter_features): a feature the accelerator lacks is removed; one asked for explicitly with
    /// +feature (or feature=on) is also reported, as "&lt;accel&gt; doesn't support requested feature: CPUID.01H:ECX.vmx [bit 5]".
    /// A model's own features that the accelerator lacks are dropped silently: a model is a ceiling, not a demand.
    /// </remarks>
    public static ResolvedCpuModel Resolve(CpuModelSpec spec, CpuFeatureSet implemented, string acceleratorName)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(implemented);
        var model = spec.Model;
        var wanted = model.Kind == CpuModelKind.Everything ? implemented : model.Features;
        var warnings = new List<string>();
        var reported = new HashSet<CpuFeature>();
        foreach (var entry in spec.Overrides)
        {
            wanted = wanted.With(entry.Feature, entry.Enabled);
        }

        foreach (var entry in spec.Overrides)
        {
            if (entry.Enabled && wanted.Contains(entry.Feature) && !implemented.Contains(entry.Feature) && reported.Add(entry.Feature))
            {
                warnings.Add($"{acceleratorName} doesn't support requested feature: {CpuFeatureWords.Describe(entry.Feature)}");
            }
        }

        return new ResolvedCpuModel(
            spec.EffectiveVendor,
            spec.Family ?? model.Family,
            spec.ModelNumber ?? model.ModelNumber,
            spec.Stepping ?? model.Stepping,
            spec.ModelId,
            wanted.Intersect(implemented),
            warnings);
    }
}
