using Vessel.Core.Interrupts;

namespace Vessel.Devices.Testing;

/// <summary>
/// QEMU's pc-testdev, which kvm-unit-tests runs every x86 test with: a 32-bit data latch at ports 0xE0 and 0xE8, a
/// page-flush port at 0xE4, 24 interrupt-line ports at 0x2000 and 64 KiB of device-backed memory at 0xFF000000. It lets
/// a test guest drive an interrupt line it chooses and make the hypervisor emulate instructions against memory that is
/// not RAM. Each region is a bus device of its own, registered by the machine builder.
/// </summary>
public sealed class TestDevice
{
    public const ushort DataLatchPort = 0xE0;
    public const ushort FlushPagePort = 0xE4;
    public const ushort ByteDataLatchPort = 0xE8;
    public const ushort InterruptLinePortBase = 0x2000;
    public const ulong MemoryBase = 0xFF00_0000;
    public const int DataLatchSize = 4;
    public const int MemorySize = 0x1_0000;

    public TestDevice(Func<int, IInterruptLine> lineForGsi)
    {
        ArgumentNullException.ThrowIfNull(lineForGsi);
        DataLatch = new TestStorage(DataLatchSize);
        InterruptLines = new TestInterruptLines(lineForGsi);
    }

    /// <summary>Ports 0xE0-0xE3, and again at 0xE8-0xEB: reads return what was last written, byte lanes kept apart.</summary>
    public TestStorage DataLatch { get; }

    /// <summary>Port 0xE4: a guest asks for a page to be unmapped and remapped; nothing is cached that would need it here.</summary>
    public TestFlushPagePort FlushPage { get; } = new();

    /// <summary>Ports 0x2000-0x2017: a byte written to port 0x2000+n sets GSI n's level (non-zero asserts).</summary>
    public TestInterruptLines InterruptLines { get; }

    /// <summary>0xFF000000-0xFF00FFFF: memory that behaves as RAM but is reached through MMIO exits.</summary>
    public TestStorage Memory { get; } = new(MemorySize);
}
