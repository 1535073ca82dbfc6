using Vessel.Devices.Pci;
using Vessel.Vmm.Building;
using Vessel.Vmm.Configuration;

namespace Vessel.Vmm.Tests.Building;

public sealed class ResourceAllocatorTests
{
    private const ulong Mmio64Start = 0x10_0000_0000;

    private readonly ResourceAllocator allocator = new(Mmio64Start, 1UL << 32);

    [Fact]
    public void Mmio_windows_are_naturally_aligned_and_never_overlap()
    {
        ulong small = allocator.AllocateMmio32(0x1000);
        ulong large = allocator.AllocateMmio32(0x8000);
        ulong high = allocator.AllocateMmio64(1UL << 30);

        Assert.Equal(PlatformLayout.PciMmio32Start, small);
        Assert.Equal(0UL, large % 0x8000);
        Assert.True(large >= small + 0x1000);
        Assert.Equal(Mmio64Start, high);
        Assert.Equal(Mmio64Start + (1UL << 30), allocator.AllocateMmio64(0x1000));
    }

    [Fact]
    public void An_exhausted_window_says_so()
    {
        allocator.AllocateMmio32(PlatformLayout.PciMmio32Size);

        var error = Assert.Throws<InvalidOperationException>(() => allocator.AllocateMmio32(0x1000));
        Assert.Contains("32-bit PCI window", error.Message);
        Assert.Throws<InvalidOperationException>(() => allocator.AllocateMmio64(1UL << 33));
    }

    [Fact]
    public void Pci_gsis_go_round_robin_over_the_eight_pci_lines()
    {
        var gsis = Enumerable.Range(0, 10).Select(_ => allocator.AllocatePciGsi()).ToArray();

        Assert.Equal(Enumerable.Range(PlatformLayout.FirstPciGsi, 8).Concat([PlatformLayout.FirstPciGsi, PlatformLayout.FirstPciGsi + 1]), gsis);
    }

    [Fact]
    public void Slots_start_after_the_host_bridge_and_running_out_is_a_configuration_error()
    {
        Assert.Equal(1, allocator.AllocatePciSlot());
        for (int slot = 2; slot < PciRootComplex.SlotCount; slot++)
        {
            Assert.Equal(slot, allocator.AllocatePciSlot());
        }

        var error = Assert.Throws<ConfigurationException>(() => allocator.AllocatePciSlot());
        Assert.Contains("PCI slots", error.Message);
    }
}
