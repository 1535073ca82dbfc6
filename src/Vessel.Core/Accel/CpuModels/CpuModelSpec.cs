namespace Vessel.Core.Accel.CpuModels;

/// <summary>A feature switched on or off by a <c>--cpu</c> specification.</summary>
public readonly record struct CpuFeatureOverride(CpuFeature Feature, bool Enabled);

/// <summary>
/// A parsed <c>--cpu</c> specification in QEMU's syntax: <c>MODEL[,+feat|,-feat|,feat|,feat=on|off|,key=value]...</c>.
/// Properties that only matter to QEMU (migratable, the Hyper-V enlightenments, enforce...) are kept in
/// <see cref="IgnoredProperties"/> so an accelerator can say it ignored them.
/// </summary>
public sealed record CpuModelSpec
{
    public required string Text { get; init; }

    public required CpuModel Model { get; init; }

    /// <summary>In the order they apply: <c>feat=on|off</c> and bare <c>feat</c> as written, then every <c>+feat</c>, then every <c>-feat</c> (QEMU's precedence: minus wins).</summary>
    public IReadOnlyList<CpuFeatureOverride> Overrides { get; init; } = [];

    /// <summary>vendor=: a 12-character CPUID vendor string; null keeps the model's.</summary>
    public string? Vendor { get; init; }

    public int? Family { get; init; }

    public int? ModelNumber { get; init; }

    public int? Stepping { get; init; }

    /// <summary>model-id=: the brand string (CPUID 80000002H-80000004H).</summary>
    public string? ModelId { get; init; }

    /// <summary>phys-bits=: the physical address width CPUID 80000008H reports.</summary>
    public int? PhysicalAddressBits { get; init; }

    /// <summary>host-phys-bits: report the host's physical address width (KVM).</summary>
    public bool? HostPhysicalAddressBits { get; init; }

    /// <summary>tsc-frequency=: the TSC frequency in Hz.</summary>
    public ulong? TscFrequencyHz { get; init; }

    /// <summary>Accepted properties this project does not act on, as written (e.g. "migratable=no", "hv-passthrough").</summary>
    public IReadOnlyList<string> IgnoredProperties { get; init; } = [];

    /// <summary>The vendor the guest sees: vendor= if given, else the model's; null for "the accelerator's own".</summary>
    public string? EffectiveVendor => Vendor ?? Model.Vendor;

    /// <summary>Whether the specification switches <paramref name="name"/> on explicitly (+name, name, name=on) and nothing later switches it off.</summary>
    public bool ExplicitlyEnables(string name)
    {
        bool? last = null;
        foreach (var entry in Overrides)
        {
            if (entry.Feature.Name == name)
            {
                last = entry.Enabled;
            }
        }

        return last == true;
    }

    public override string ToString() => Text;

    public static CpuModelSpec Parse(string text) => CpuModelSpecParser.Parse(text);
}
