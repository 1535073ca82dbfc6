using Vessel.Core.Accel.CpuModels;
using Vessel.Core.Logging;

namespace Vessel.X86.Cpu;

/// <summary>Turns a <c>--cpu</c> specification into the <see cref="CpuidTemplate"/> of the software CPU.</summary>
public static class SoftwareCpuModel
{
    /// <summary>The name warnings give the accelerator, as QEMU's say "TCG".</summary>
    public const string AcceleratorName = "software CPU";

    /// <summary>What this CPU implements: exactly the default template's features, so <c>max</c> and no <c>--cpu</c> agree.</summary>
    public static CpuFeatureSet Implemented { get; } = CpuFeatureSet.FromWords(new Dictionary<CpuFeatureWord, uint>
    {
        [CpuFeatureWord.Leaf1Edx] = CpuidTemplate.Default.Leaf1Edx,
        [CpuFeatureWord.Leaf1Ecx] = CpuidTemplate.Default.Leaf1Ecx,
        [CpuFeatureWord.Leaf7Ebx] = CpuidTemplate.Default.Leaf7Ebx,
        [CpuFeatureWord.Leaf7Ecx] = CpuidTemplate.Default.Leaf7Ecx,
        [CpuFeatureWord.ExtendedLeaf1Edx] = CpuidTemplate.Default.ExtendedLeaf1Edx,
        [CpuFeatureWord.ExtendedLeaf1Ecx] = CpuidTemplate.Default.ExtendedLeaf1Ecx,
    });

    /// <summary>
    /// The template for <paramref name="spec"/> (null: the default, everything implemented, GenuineIntel). Features the
    /// CPU lacks are left off; each one asked for explicitly gets one warning, and settings it cannot honour an info line.
    /// </summary>
    public static CpuidTemplate Create(CpuModelSpec? spec, int logicalProcessorCount, IMachineLog log)
    {
        ArgumentNullException.ThrowIfNull(log);
        if (spec is null)
        {
            return new CpuidTemplate { LogicalProcessorCount = logicalProcessorCount };
        }

        var resolved = ResolvedCpuModel.Resolve(spec, Implemented, AcceleratorName);
        foreach (string warning in resolved.Warnings)
        {
            log.Warn(warning);
        }

        if (spec.Model.Name == "host")
        {
            log.Info("--cpu host: the software CPU has no host CPU to pass through; it runs as max (everything it implements).");
        }

        if (spec.PhysicalAddressBits is { } bits && bits != Cpu.PhysicalAddressBits)
        {
            log.Warn($"--cpu phys-bits={bits} ignored: the software CPU's physical address width is fixed at {Cpu.PhysicalAddressBits} bits.");
        }

        if (spec.HostPhysicalAddressBits == true)
        {
            log.Info($"--cpu host-phys-bits: only KVM has a host width to report; the software CPU reports {Cpu.PhysicalAddressBits} bits.");
        }

        foreach (string property in spec.IgnoredProperties)
        {
            log.Info($"--cpu {property}: accepted for QEMU compatibility; it changes nothing here.");
        }

        var features = resolved.Features;
        return new CpuidTemplate
        {
            Vendor = resolved.Vendor ?? CpuModelCatalog.Intel,
            Family = resolved.Family,
            Model = resolved.ModelNumber,
            Stepping = resolved.Stepping,
            BrandString = resolved.ModelId ?? CpuidTemplate.Default.BrandString,
            TscFrequencyHz = spec.TscFrequencyHz ?? CpuidTemplate.Default.TscFrequencyHz,
            Leaf1Edx = features[CpuFeatureWord.Leaf1Edx],
            Leaf1Ecx = features[CpuFeatureWord.Leaf1Ecx],
            Leaf7Ebx = features[CpuFeatureWord.Leaf7Ebx],
            Leaf7Ecx = features[CpuFeatureWord.Leaf7Ecx],
            ExtendedLeaf1Edx = features[CpuFeatureWord.ExtendedLeaf1Edx],
            ExtendedLeaf1Ecx = features[CpuFeatureWord.ExtendedLeaf1Ecx],
            LogicalProcessorCount = logicalProcessorCount,
        };
    }
}
