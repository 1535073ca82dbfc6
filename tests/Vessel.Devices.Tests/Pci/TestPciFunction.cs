using Vessel.Core.Bus;
using Vessel.Devices.Pci;

namespace Vessel.Devices.Tests.Pci;

/// <summary>
/// A PCI function with one BAR of each kind (BAR0 32-bit memory 4 KiB, BAR2+3 64-bit memory 16 KiB, BAR4 I/O 32 bytes) whose
/// registers record what reaches them, and a test hook to drive INTA#.
/// </summary>
public sealed class TestPciFunction : PciFunction
{
    public const ulong Memory32Size = 0x1000;
    public const ulong Memory64Size = 0x4000;
    public const ulong IoSize = 0x20;

    public TestPciFunction()
        : base(new PciFunctionIdentity(VendorId: 0x1234, DeviceId: 0x5678, BaseClass: 0xFF, SubClass: 0x00, RevisionId: 7))
    {
        Memory32 = AddBar(0, Memory32Size, PciBarKind.Memory32, Memory32Registers);
        Memory64 = AddBar(2, Memory64Size, PciBarKind.Memory64, Memory64Registers);
        Io = AddBar(4, IoSize, PciBarKind.Io, IoRegisters);
    }

    public RecordingRegisters Memory32Registers { get; } = new(0xA1);

    public RecordingRegisters Memory64Registers { get; } = new(0xB2);

    public RecordingRegisters IoRegisters { get; } = new(0xC3);

    public PciBar Memory32 { get; }

    public PciBar Memory64 { get; }

    public PciBar Io { get; }

    public void DriveInterrupt(bool asserted) => SetInterruptAsserted(asserted);

    /// <summary>Registers that read as one fixed byte and count the accesses that reach them.</summary>
    public sealed class RecordingRegisters(byte value) : IBusDevice
    {
        public int Reads { get; private set; }

        public List<ulong> WrittenOffsets { get; } = [];

        public void Read(ulong offset, Span<byte> data)
        {
            Reads++;
            data.Fill(value);
        }

        public void Write(ulong offset, ReadOnlySpan<byte> data) => WrittenOffsets.Add(offset);
    }
}
