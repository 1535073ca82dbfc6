using System.Buffers.Binary;
using Vessel.Core.Bus;
using Vessel.Core.Logging;
using Vessel.Core.Memory;
using Vessel.Devices.Io;
using Vessel.Devices.Pci;
using Vessel.Devices.Tests.Fakes;
using Vessel.Devices.Virtio.Entropy;
using Vessel.Devices.Virtio.Transport;

namespace Vessel.Devices.Tests.Pci;

public sealed class PciRootComplexTests
{
    private const int Slot = 3;
    private const ulong EcamBase = 0xB000_0000;

    private readonly RecordingMachineLog log = new();
    private readonly MmioBus mmio;
    private readonly IoPortBus ports;
    private readonly PciRootComplex root;
    private readonly TestPciFunction function = new();

    public PciRootComplexTests()
    {
        mmio = new MmioBus(log);
        ports = new IoPortBus(log);
        root = new PciRootComplex(mmio, ports, log);
        ports.Register(PciRootComplex.ConfigurationAddressPort, 4, root.AddressPort, "PCI configuration address");
        ports.Register(PciRootComplex.ConfigurationDataPort, 4, root.DataWindow, "PCI configuration data");
        mmio.Register(EcamBase, PciRootComplex.EcamBusSize, root.Ecam, "PCI ECAM");
        root.Attach(Slot, function);
    }

    [Fact]
    public void Configuration_reads_through_cf8_cfc_and_through_ecam_agree_for_every_register()
    {
        foreach (int slot in new[] { 0, Slot, 7 })
        {
            for (int register = 0; register < PciConfigurationRegister.ConventionalSize; register += 4)
            {
                Assert.Equal(ReadEcam32(slot, register), ReadPort32(slot, register));
            }
        }
    }

    [Fact]
    public void Byte_and_word_reads_of_the_data_window_pick_the_right_bytes()
    {
        SelectPort(Slot, PciConfigurationRegister.VendorId);
        Span<byte> word = stackalloc byte[2];
        Span<byte> one = stackalloc byte[1];

        ports.Read(PciRootComplex.ConfigurationDataPort + 2, word);
        Assert.Equal(0x5678, BinaryPrimitives.ReadUInt16LittleEndian(word));
        SelectPort(Slot, PciConfigurationRegister.RevisionId);
        ports.Read(PciRootComplex.ConfigurationDataPort, one);
        Assert.Equal(7, one[0]);
        Assert.Equal(0x5678, (ushort)(ReadEcam32(Slot, 0) >> 16));
    }

    [Fact]
    public void An_empty_slot_or_a_missing_function_reads_all_ones()
    {
        Assert.Equal(0xFFFF_FFFFu, ReadPort32(9, 0));
        Assert.Equal(0xFFFF_FFFFu, ReadEcam32(9, 0));
        Assert.Equal(0xFFFF_FFFFu, ReadEcam32(Slot, 0, function: 1));
        Assert.Equal(0xFFFF_FFFFu, ReadPort32(Slot, 0, function: 1));
    }

    [Fact]
    public void The_data_window_reads_all_ones_without_the_enable_bit_or_for_another_bus()
    {
        WritePort32(PciRootComplex.ConfigurationAddressPort, (uint)(Slot << 11));
        Assert.Equal(0xFFFF_FFFFu, ReadDataPort());

        WritePort32(PciRootComplex.ConfigurationAddressPort, 0x8000_0000u | (1u << 16) | (uint)(Slot << 11));
        Assert.Equal(0xFFFF_FFFFu, ReadDataPort());
    }

    [Fact]
    public void Slot_0_is_the_host_bridge()
    {
        uint identity = ReadEcam32(0, PciConfigurationRegister.VendorId);
        uint classCode = ReadEcam32(0, PciConfigurationRegister.RevisionId);

        Assert.NotEqual(0xFFFFu, identity & 0xFFFF);
        Assert.Equal(0x06u, classCode >> 24);
        Assert.Equal(0x00u, (classCode >> 16) & 0xFF);
    }

    [Fact]
    public void Read_only_registers_ignore_writes_through_both_mechanisms()
    {
        WriteEcam32(Slot, PciConfigurationRegister.VendorId, 0xDEAD_BEEF);
        WritePortConfig32(Slot, PciConfigurationRegister.RevisionId, 0xFFFF_FFFF);

        Assert.Equal(0x5678_1234u, ReadEcam32(Slot, PciConfigurationRegister.VendorId));
        Assert.Equal(0xFF00_0007u, ReadPort32(Slot, PciConfigurationRegister.RevisionId));
    }

    [Fact]
    public void Sizing_a_32_bit_bar_reads_back_its_size_mask_and_type_bits()
    {
        WriteEcam32(Slot, PciConfigurationRegister.BaseAddress0, 0xFFFF_FFFF);

        uint value = ReadEcam32(Slot, PciConfigurationRegister.BaseAddress0);

        Assert.Equal(0u, value & 0xF);
        Assert.Equal(TestPciFunction.Memory32Size, (ulong)(~(value & 0xFFFF_FFF0) + 1));
    }

    [Fact]
    public void Sizing_a_64_bit_bar_reads_back_its_type_and_an_all_ones_upper_half()
    {
        int low = PciConfigurationRegister.BaseAddress0 + 8;
        WriteEcam32(Slot, low, 0xFFFF_FFFF);
        WriteEcam32(Slot, low + 4, 0xFFFF_FFFF);

        uint lowValue = ReadEcam32(Slot, low);
        uint highValue = ReadEcam32(Slot, low + 4);
        ulong mask = ((ulong)highValue << 32) | (lowValue & 0xFFFF_FFF0u);

        Assert.Equal(0x4u, lowValue & 0x7);
        Assert.Equal(0xFFFF_FFFFu, highValue);
        Assert.Equal(TestPciFunction.Memory64Size, ~mask + 1);
    }

    [Fact]
    public void Sizing_an_io_bar_reads_back_its_size_and_the_io_bit()
    {
        int register = PciConfigurationRegister.BaseAddress0 + 16;
        WritePortConfig32(Slot, register, 0xFFFF_FFFF);

        uint value = ReadPort32(Slot, register);

        Assert.Equal(1u, value & 0x3);
        Assert.Equal(TestPciFunction.IoSize, (ulong)(uint)(~(value & 0xFFFF_FFFC) + 1));
    }

    [Fact]
    public void Unimplemented_bars_read_zero_and_stay_zero()
    {
        int register = PciConfigurationRegister.BaseAddress0 + 4;
        WriteEcam32(Slot, register, 0xFFFF_FFFF);

        Assert.Equal(0u, ReadEcam32(Slot, register));
    }

    [Fact]
    public void A_bar_decodes_only_where_it_is_placed_and_only_with_memory_space_on()
    {
        const ulong placed = 0xC010_0000;
        WriteEcam32(Slot, PciConfigurationRegister.BaseAddress0, (uint)placed);
        Assert.Null(function.Memory32.MappedAddress);
        Assert.False(mmio.TryFind(placed, out _));

        EnableDecode(PciCommand.MemorySpace);

        Assert.Equal(placed, function.Memory32.MappedAddress);
        Assert.Equal(0xA1, ReadMmio8(placed + 0x10));
        Assert.Equal(1, function.Memory32Registers.Reads);
    }

    [Fact]
    public void Moving_a_bar_moves_its_window()
    {
        const ulong first = 0xC010_0000;
        const ulong second = 0xC020_0000;
        WriteEcam32(Slot, PciConfigurationRegister.BaseAddress0, (uint)first);
        EnableDecode(PciCommand.MemorySpace);

        WriteEcam32(Slot, PciConfigurationRegister.BaseAddress0, (uint)second);

        Assert.Equal(second, function.Memory32.MappedAddress);
        Assert.Equal(0xFF, ReadMmio8(first));
        Assert.Equal(0, function.Memory32Registers.Reads);
        Assert.Equal(0xA1, ReadMmio8(second + 0xFFF));
        mmio.Write(second + 4, [1]);
        Assert.Equal([4UL], function.Memory32Registers.WrittenOffsets);
    }

    [Fact]
    public void A_64_bit_bar_maps_above_4_gib_from_both_halves()
    {
        const ulong placed = 0x8_0000_0000;
        int low = PciConfigurationRegister.BaseAddress0 + 8;
        WriteEcam32(Slot, low, (uint)(placed & 0xFFFF_FFFF));
        WriteEcam32(Slot, low + 4, (uint)(placed >> 32));
        EnableDecode(PciCommand.MemorySpace);

        Assert.Equal(placed, function.Memory64.MappedAddress);
        Assert.Equal(placed, function.ProgrammedAddress(function.Memory64));
        Assert.Equal(0xB2, ReadMmio8(placed + 0x3FFF));
    }

    [Fact]
    public void Clearing_memory_space_unmaps_every_memory_bar_and_setting_it_maps_them_again()
    {
        const ulong placed = 0xC010_0000;
        WriteEcam32(Slot, PciConfigurationRegister.BaseAddress0, (uint)placed);
        EnableDecode(PciCommand.MemorySpace);

        EnableDecode(PciCommand.None);

        Assert.Null(function.Memory32.MappedAddress);
        Assert.False(mmio.TryFind(placed, out _));
        Assert.Equal(0xFF, ReadMmio8(placed));

        EnableDecode(PciCommand.MemorySpace);
        Assert.Equal(0xA1, ReadMmio8(placed));
    }

    [Fact]
    public void Sizing_a_64_bit_bar_with_decode_on_leaves_it_unmapped_and_throws_nothing()
    {
        // Linux turns decode off while it sizes; another guest need not. All ones in both halves is the top of the 64-bit
        // space, where the window would wrap past 2^64.
        int low = PciConfigurationRegister.BaseAddress0 + 8;
        WriteEcam32(Slot, low, 0xC020_0000);
        EnableDecode(PciCommand.MemorySpace);

        WriteEcam32(Slot, low, 0xFFFF_FFFF);
        WriteEcam32(Slot, low + 4, 0xFFFF_FFFF);

        Assert.Null(function.Memory64.MappedAddress);
        Assert.Equal(0xFFFF_FFFFu, ReadEcam32(Slot, low + 4));

        // The upper half first, from an unmapped BAR: the window would be registered new at the wrapping address.
        WriteEcam32(Slot, low, 0);
        WriteEcam32(Slot, low + 4, 0xFFFF_FFFF);
        WriteEcam32(Slot, low, 0xFFFF_FFFF);
        Assert.Null(function.Memory64.MappedAddress);

        WriteEcam32(Slot, low, 0xC020_0000);
        WriteEcam32(Slot, low + 4, 0);
        Assert.Equal(0xC020_0000UL, function.Memory64.MappedAddress);
        Assert.Equal(0xB2, ReadMmio8(0xC020_0000));
    }

    [Fact]
    public void An_io_bar_maps_on_the_port_bus_with_io_space_on()
    {
        const ushort placed = 0xC000;
        WritePortConfig32(Slot, PciConfigurationRegister.BaseAddress0 + 16, placed);
        Assert.Null(function.Io.MappedAddress);

        EnableDecode(PciCommand.IoSpace);

        Assert.Equal(placed, function.Io.MappedAddress);
        Span<byte> one = stackalloc byte[1];
        ports.Read(placed + 0x1F, one);
        Assert.Equal(0xC3, one[0]);
        Assert.Null(function.Memory32.MappedAddress);
    }

    [Fact]
    public void A_bar_placed_over_another_device_stays_unmapped_and_is_logged_once()
    {
        WriteEcam32(Slot, PciConfigurationRegister.BaseAddress0, (uint)EcamBase);
        EnableDecode(PciCommand.MemorySpace);
        EnableDecode(PciCommand.None);
        EnableDecode(PciCommand.MemorySpace);

        Assert.Null(function.Memory32.MappedAddress);
        Assert.Equal(0xFFFF_FFFFu, ReadEcam32(9, 0));
        Assert.Single(log.Warnings, warning => warning.Contains("BAR0"));

        WriteEcam32(Slot, PciConfigurationRegister.BaseAddress0, 0xC030_0000);
        Assert.Equal(0xC030_0000UL, function.Memory32.MappedAddress);
    }

    [Fact]
    public void Interrupt_disable_masks_intx_while_the_status_bit_still_shows_it()
    {
        var line = new FakeInterruptLine();
        function.ConnectInterruptPin(line, 11);
        Assert.Equal(PciFunction.InterruptPinA, (byte)(ReadEcam32(Slot, PciConfigurationRegister.InterruptLine) >> 8));
        Assert.Equal(11u, ReadEcam32(Slot, PciConfigurationRegister.InterruptLine) & 0xFF);

        function.DriveInterrupt(true);
        Assert.True(line.Asserted);
        Assert.NotEqual(0u, StatusOf(Slot) & (uint)PciStatus.InterruptStatus);

        EnableDecode(PciCommand.InterruptDisable);
        Assert.False(line.Asserted);
        Assert.NotEqual(0u, StatusOf(Slot) & (uint)PciStatus.InterruptStatus);

        EnableDecode(PciCommand.None);
        Assert.True(line.Asserted);

        function.DriveInterrupt(false);
        Assert.False(line.Asserted);
        Assert.Equal(0u, StatusOf(Slot) & (uint)PciStatus.InterruptStatus);
    }

    [Fact]
    public void A_virtio_function_has_a_well_formed_capability_list()
    {
        using var memory = GuestMemory.Create(16UL << 20);
        var virtio = new VirtioPciFunction(new VirtioEntropyDevice(), memory, new FakeMsiSink(), new SynchronousIoScheduler(), NullMachineLog.Instance);
        root.Attach(5, virtio);

        Assert.NotEqual(0u, StatusOf(5) & (uint)PciStatus.CapabilitiesList);
        var ids = new List<byte>();
        var seen = new HashSet<int>();
        int next = (int)(ReadEcam32(5, PciConfigurationRegister.CapabilitiesPointer) & 0xFF);
        while (next != 0)
        {
            Assert.InRange(next, PciConfigurationRegister.HeaderEnd, PciConfigurationRegister.ConventionalSize - 4);
            Assert.Equal(0, next % 4);
            Assert.True(seen.Add(next), $"the list loops at 0x{next:x}");
            uint header = ReadPort32(5, next);
            ids.Add((byte)header);
            next = (int)((header >> 8) & 0xFF);
        }

        Assert.Equal(new byte[] { 0x09, 0x09, 0x09, 0x09, 0x11 }, ids);
    }

    [Fact]
    public void Attaching_two_functions_to_one_slot_is_refused()
    {
        var error = Assert.Throws<InvalidOperationException>(() => root.Attach(Slot, new TestPciFunction()));

        Assert.Contains($"slot {Slot}", error.Message);
    }

    private uint StatusOf(int slot) => ReadEcam32(slot, PciConfigurationRegister.Command) >> 16;

    private void EnableDecode(PciCommand command) => WriteEcam16(Slot, PciConfigurationRegister.Command, (ushort)command);

    private byte ReadMmio8(ulong address)
    {
        Span<byte> data = stackalloc byte[1];
        mmio.Read(address, data);
        return data[0];
    }

    private uint ReadEcam32(int slot, int register, int function = 0)
    {
        Span<byte> data = stackalloc byte[4];
        mmio.Read(EcamBase + EcamOffset(slot, function, register), data);
        return BinaryPrimitives.ReadUInt32LittleEndian(data);
    }

    private void WriteEcam32(int slot, int register, uint value)
    {
        Span<byte> data = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(data, value);
        mmio.Write(EcamBase + EcamOffset(slot, 0, register), data);
    }

    private void WriteEcam16(int slot, int register, ushort value)
    {
        Span<byte> data = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(data, value);
        mmio.Write(EcamBase + EcamOffset(slot, 0, register), data);
    }

    private static ulong EcamOffset(int slot, int function, int register) => ((ulong)(uint)slot << 15) | ((ulong)(uint)function << 12) | (uint)register;

    private void SelectPort(int slot, int register, int function = 0) =>
        WritePort32(PciRootComplex.ConfigurationAddressPort, 0x8000_0000u | (uint)(slot << 11) | (uint)(function << 8) | (uint)(register & 0xFC));

    private uint ReadPort32(int slot, int register, int function = 0)
    {
        SelectPort(slot, register, function);
        return ReadDataPort();
    }

    private void WritePortConfig32(int slot, int register, uint value)
    {
        SelectPort(slot, register);
        WritePort32(PciRootComplex.ConfigurationDataPort, value);
    }

    private uint ReadDataPort()
    {
        Span<byte> data = stackalloc byte[4];
        ports.Read(PciRootComplex.ConfigurationDataPort, data);
        return BinaryPrimitives.ReadUInt32LittleEndian(data);
    }

    private void WritePort32(ushort port, uint value)
    {
        Span<byte> data = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(data, value);
        ports.Write(port, data);
    }
}
