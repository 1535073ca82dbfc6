using System.Buffers.Binary;
using Vessel.Core.Logging;
using Vessel.Devices.Pci;
using Vessel.Devices.Serial;
using Vessel.Devices.Virtio.Transport;
using Vessel.Testing.Images;
using Vessel.Vmm.Building;
using Vessel.Vmm.Configuration;

namespace Vessel.Vmm.Tests.Building;

/// <summary>The machine's PCI devices as MachineBuilder attaches them through the DeviceManager, seen as a guest sees them.</summary>
public sealed class DeviceManagerTests : IDisposable
{
    private readonly string kernel = Elf64Program.WriteTemporary(a => a.hlt());
    private readonly string firstDisk = Path.GetTempFileName();
    private readonly string secondDisk = Path.GetTempFileName();
    private readonly BuiltMachine built;

    public DeviceManagerTests()
    {
        File.WriteAllBytes(firstDisk, new byte[1 << 20]);
        File.WriteAllBytes(secondDisk, new byte[2 << 20]);
        var config = new MachineConfig
        {
            KernelPath = kernel,
            MemoryBytes = 64UL << 20,
            Accelerator = AcceleratorKind.Software,
            Disks =
            [
                new DiskConfig { Id = "first", Path = firstDisk, Format = null },
                new DiskConfig { Id = "second", Path = secondDisk, ReadOnly = true, Format = null },
            ],
        };
        built = MachineBuilder.Build(config, new FakeAccelerator(), new NullSerialOutput(), NullMachineLog.Instance);
    }

    private DeviceManager Devices => built.Devices!;

    public void Dispose()
    {
        built.Dispose();
        File.Delete(kernel);
        File.Delete(firstDisk);
        File.Delete(secondDisk);
    }

    [Fact]
    public void Disks_come_first_in_the_order_given_then_rng_then_console_each_in_its_own_slot()
    {
        int[] slots = PciSlots();

        Assert.Equal(4, slots.Length);
        Assert.Equal([0x1042, 0x1042, 0x1044, 0x1043], slots.Select(slot => (int)(ReadPortConfiguration(slot, 0) >> 16)));
        Assert.All(slots, slot => Assert.Equal(0x1AF4u, ReadPortConfiguration(slot, 0) & 0xFFFF));
        Assert.Equal(slots.Order(), slots);
        Assert.Equal(0xFFFF_FFFFu, ReadPortConfiguration(slots[^1] + 1, 0));
    }

    [Fact]
    public void Ecam_and_the_configuration_ports_show_the_same_devices()
    {
        foreach (int slot in PciSlots().Prepend(0))
        {
            for (int register = 0; register < 0x40; register += 4)
            {
                Assert.Equal(ReadPortConfiguration(slot, register), ReadEcam(slot, register));
            }
        }

        Assert.Contains(Devices.ReservedRanges, range => range.Address == PlatformLayout.PciEcamStart && range.Size == PciRootComplex.EcamBusSize);
    }

    [Fact]
    public void Every_bar_is_mapped_aligned_inside_the_bridge_window_and_overlaps_no_other()
    {
        var windows = new List<(ulong Start, ulong Size)>();
        foreach (int slot in PciSlots())
        {
            var bar = Devices.Pci[slot]!.Bars[0]!;
            ulong address = Assert.NotNull(bar.MappedAddress);
            Assert.Equal(0UL, address % bar.Size);
            Assert.InRange(address, PlatformLayout.PciMmio32Start, PlatformLayout.PciMmio32Start + PlatformLayout.PciMmio32Size - bar.Size);
            Assert.Equal(address, ((ulong)ReadEcam(slot, 0x14) << 32) | (ReadEcam(slot, 0x10) & ~0xFUL));
            Assert.NotEqual(0u, ReadEcam(slot, PciConfigurationRegister.Command) & (uint)PciCommand.MemorySpace);
            Assert.DoesNotContain(windows, other => address < other.Start + other.Size && other.Start < address + bar.Size);
            windows.Add((address, bar.Size));
        }
    }

    [Fact]
    public void A_guest_reaches_each_virtio_device_through_its_bar_on_the_machine_bus()
    {
        int[] slots = PciSlots();

        Assert.Equal([1, 1, 1, 2], slots.Select(slot => (int)ReadBar16(slot, VirtioPciFunction.CommonConfigurationOffset + CommonConfigurationRegister.QueueCount)));
        Assert.Equal(2048UL, ReadBar64(slots[0], VirtioPciFunction.DeviceConfigurationOffset));
        Assert.Equal(4096UL, ReadBar64(slots[1], VirtioPciFunction.DeviceConfigurationOffset));
    }

    [Fact]
    public void Each_slot_has_a_pci_gsi_in_its_interrupt_line_and_a_matching_prt_route()
    {
        var routes = Devices.PciDescription.InterruptRoutes;
        int[] slots = PciSlots();

        Assert.Equal(slots, routes.Select(route => route.Slot));
        foreach (var (slot, gsi) in routes)
        {
            Assert.InRange(gsi, PlatformLayout.FirstPciGsi, PlatformLayout.LastPciGsi);
            uint interrupt = ReadEcam(slot, PciConfigurationRegister.InterruptLine);
            Assert.Equal((uint)gsi, interrupt & 0xFF);
            Assert.Equal(PciFunction.InterruptPinA, (byte)(interrupt >> 8));
        }

        Assert.Equal(routes.Count, routes.Select(route => route.Gsi).Distinct().Count());
    }

    private int[] PciSlots() =>
        Devices.Devices.Where(device => device.PciSlot is > 0).Select(device => device.PciSlot!.Value).ToArray();

    private uint ReadPortConfiguration(int slot, int register)
    {
        Span<byte> address = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(address, 0x8000_0000u | ((uint)slot << 11) | (uint)register);
        built.Machine.Ports.Write(PciRootComplex.ConfigurationAddressPort, address);
        Span<byte> data = stackalloc byte[4];
        built.Machine.Ports.Read(PciRootComplex.ConfigurationDataPort, data);
        return BinaryPrimitives.ReadUInt32LittleEndian(data);
    }

    private uint ReadEcam(int slot, int register)
    {
        Span<byte> data = stackalloc byte[4];
        built.Machine.Mmio.Read(PlatformLayout.PciEcamStart + ((ulong)(uint)slot << 15) + (uint)register, data);
        return BinaryPrimitives.ReadUInt32LittleEndian(data);
    }

    private ushort ReadBar16(int slot, ulong offset)
    {
        Span<byte> data = stackalloc byte[2];
        built.Machine.Mmio.Read(Devices.Pci[slot]!.Bars[0]!.MappedAddress!.Value + offset, data);
        return BinaryPrimitives.ReadUInt16LittleEndian(data);
    }

    private ulong ReadBar64(int slot, ulong offset)
    {
        Span<byte> data = stackalloc byte[8];
        built.Machine.Mmio.Read(Devices.Pci[slot]!.Bars[0]!.MappedAddress!.Value + offset, data);
        return BinaryPrimitives.ReadUInt64LittleEndian(data);
    }

    private sealed class NullSerialOutput : ISerialOutput
    {
        public void Write(ReadOnlySpan<byte> data)
        {
        }

        public void Flush()
        {
        }
    }
}
