using Vessel.Kvm.Cpuid;

namespace Vessel.Kvm.Tests.Cpuid;

public sealed class CpuTemplateTests
{
    [Fact]
    public void Default_template_hides_nested_virtualization()
    {
        CpuidEntry[] entries =
        [
            new(0x1, 0, false, 0, 0, CpuTemplate.Leaf1EcxVmx | 1, 0),
            new(0x8000_0001, 0, false, 0, 0, CpuTemplate.ExtendedLeaf1EcxSvm | 1, 0),
        ];

        CpuTemplate.Default.Apply(entries, vcpuIndex: 0, vcpuCount: 1);

        Assert.Equal(0u, entries[0].Ecx & CpuTemplate.Leaf1EcxVmx);
        Assert.Equal(0u, entries[1].Ecx & CpuTemplate.ExtendedLeaf1EcxSvm);
        Assert.Equal(1u, entries[1].Ecx);
    }

    [Fact]
    public void Each_vcpu_sees_its_own_apic_id_and_the_hypervisor_bit()
    {
        CpuidEntry[] entries =
        [
            new(0x1, 0, false, 0, 0x0000_0800, 0, 0),
            new(0xB, 0, true, 0, 0, 0, 0),
            new(0xB, 1, true, 0, 0, 0, 0),
        ];

        CpuTemplate.Host.Apply(entries, vcpuIndex: 3, vcpuCount: 4);

        Assert.Equal(0x0304_0800u, entries[0].Ebx);
        Assert.NotEqual(0u, entries[0].Ecx & CpuTemplate.Leaf1EcxHypervisor);
        Assert.NotEqual(0u, entries[0].Edx & CpuTemplate.Leaf1EdxHtt);
        Assert.Equal(3u, entries[1].Edx);
        Assert.Equal(3u, entries[2].Edx);
    }

    [Fact]
    public void A_mask_applies_only_to_its_subleaf_when_the_index_is_significant()
    {
        var template = new CpuTemplate([new CpuidFeatureMask(0x7, 0, CpuidRegister.Ebx, 1u << 5, "test")]);
        CpuidEntry[] entries =
        [
            new(0x7, 0, true, 0, 0xFF, 0, 0),
            new(0x7, 1, true, 0, 0xFF, 0, 0),
        ];

        template.Apply(entries, 0, 1);

        Assert.Equal(0xDFu, entries[0].Ebx);
        Assert.Equal(0xFFu, entries[1].Ebx);
    }
}
