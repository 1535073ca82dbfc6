using Vessel.Core.Accel.CpuModels;

namespace Vessel.Kvm.Cpuid;

/// <summary>
/// What the guest sees of CPUID under KVM: the host's KVM_GET_SUPPORTED_CPUID, minus the features the template masks,
/// with the per-vCPU topology fields (APIC IDs) filled in. Masks are the filter hook: a template is a documented list
/// of bits to clear, nothing else, so what a guest may rely on is written down in one place.
/// </summary>
public sealed class CpuTemplate(IEnumerable<CpuidFeatureMask> masks)
{
    /// <summary>Intel SDM 2A, CPUID leaf 1 ECX bit 5: VMX.</summary>
    public const uint Leaf1EcxVmx = 1u << 5;

    /// <summary>Intel SDM 2A, CPUID leaf 1 ECX bit 31: always 0 on hardware; set by hypervisors.</summary>
    public const uint Leaf1EcxHypervisor = 1u << 31;

    /// <summary>Intel SDM 2A, CPUID leaf 1 EDX bit 28: HTT, more than one logical processor ID in the package.</summary>
    public const uint Leaf1EdxHtt = 1u << 28;

    /// <summary>AMD APM 3, CPUID 8000_0001h ECX bit 2: SVM.</summary>
    public const uint ExtendedLeaf1EcxSvm = 1u << 2;

    private const uint ExtendedTopologyLeaf = 0xB;
    private const uint V2ExtendedTopologyLeaf = 0x1F;

    private readonly CpuidFeatureMask[] masks = [.. masks];

    /// <summary>
    /// The default: everything KVM offers except nested virtualization (VMX/SVM), which Vessel does not configure
    /// (no nested state is saved, and it would widen what a guest can reach).
    /// </summary>
    public static CpuTemplate Default { get; } = new(
    [
        new CpuidFeatureMask(0x1, 0, CpuidRegister.Ecx, Leaf1EcxVmx, "no nested virtualization (Intel VMX)"),
        new CpuidFeatureMask(0x8000_0001, 0, CpuidRegister.Ecx, ExtendedLeaf1EcxSvm, "no nested virtualization (AMD SVM)"),
    ]);

    /// <summary>Everything KVM offers, unmasked.</summary>
    public static CpuTemplate Host { get; } = new([]);

    public IReadOnlyList<CpuidFeatureMask> Masks => masks;

    /// <summary>A <c>--cpu</c> model laid over the supported entries before the masks; null for none.</summary>
    public KvmCpuModel? Model { get; init; }

    /// <summary>
    /// This template with <paramref name="model"/> laid over it. A feature the model's specification asks for explicitly
    /// (<c>+vmx</c>) lifts the default mask that would hide it: asking is the documented way to get nested virtualization.
    /// </summary>
    public CpuTemplate WithModel(KvmCpuModel model, CpuModelSpec spec) => new(masks.Where(mask =>
        !(mask.Function == 0x1 && mask.ClearBits == Leaf1EcxVmx && spec.ExplicitlyEnables("vmx"))
        && !(mask.Function == 0x8000_0001 && mask.ClearBits == ExtendedLeaf1EcxSvm && spec.ExplicitlyEnables("svm"))))
    {
        Model = model,
    };

    /// <summary>Applies the masks and the topology of vCPU <paramref name="vcpuIndex"/> (its APIC ID) of <paramref name="vcpuCount"/>, in place.</summary>
    public void Apply(Span<CpuidEntry> entries, int vcpuIndex, int vcpuCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(vcpuIndex);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(vcpuCount, vcpuIndex);

        uint apicId = (uint)vcpuIndex;
        foreach (ref CpuidEntry entry in entries)
        {
            Model?.Apply(ref entry);
            foreach (var mask in masks)
            {
                if (entry.Function == mask.Function && (!entry.IndexSignificant || entry.Index == mask.Index))
                {
                    entry.Set(mask.Register, entry.Get(mask.Register) & ~mask.ClearBits);
                }
            }

            switch (entry.Function)
            {
                case 0x1:
                    // Intel SDM 2A, leaf 1: EBX[31:24] initial APIC ID, EBX[23:16] addressable logical processor IDs.
                    uint logical = (uint)Math.Min(vcpuCount, 255);
                    entry.Ebx = (entry.Ebx & 0x0000_FFFF) | (logical << 16) | (apicId << 24);
                    entry.Ecx |= Leaf1EcxHypervisor;
                    entry.Edx = vcpuCount > 1 ? entry.Edx | Leaf1EdxHtt : entry.Edx & ~Leaf1EdxHtt;
                    break;
                case ExtendedTopologyLeaf or V2ExtendedTopologyLeaf:
                    // Intel SDM 2A, leaves 0Bh/1Fh: EDX is the x2APIC ID of the executing processor, at every subleaf.
                    entry.Edx = apicId;
                    break;
            }
        }
    }
}
