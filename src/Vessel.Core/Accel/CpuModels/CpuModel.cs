namespace Vessel.Core.Accel.CpuModels;

/// <summary>How a model's feature list relates to what the accelerator offers.</summary>
public enum CpuModelKind
{
    /// <summary>A fixed list of features (qemu64, IvyBridge, Opteron_G1...): the guest sees the list's features the accelerator has.</summary>
    Named,

    /// <summary>Everything the accelerator implements (<c>max</c>; <c>host</c>, which under KVM is the host's CPU).</summary>
    Everything,
}

/// <summary>
/// A CPU model <c>--cpu</c> can name: its vendor, CPUID family/model/stepping and features.
/// <see cref="Vendor"/> null means "the accelerator's own": the software CPU's GenuineIntel, or the host's under KVM.
/// </summary>
public sealed record CpuModel(
    string Name, string Description, CpuModelKind Kind, string? Vendor, int Family, int ModelNumber, int Stepping, CpuFeatureSet Features);
