using System.Buffers.Binary;
using Vessel.Core.Bus;
using Vessel.Core.Interrupts;

namespace Vessel.Devices.Debug;

/// <summary>
/// QEMU's isa-debug-exit (port 0xF4 by convention): a guest's write of V ends the machine with exit status
/// (V &lt;&lt; 1) | 1, so a test guest can report pass or fail through the VMM's exit code; kvm-unit-tests relies on it.
/// </summary>
public sealed class DebugExitPort(ISystemControl systemControl) : IBusDevice
{
    public const ushort ConventionalPort = 0xF4;

    private readonly ISystemControl systemControl = systemControl ?? throw new ArgumentNullException(nameof(systemControl));

    /// <summary>QEMU hw/misc/debugexit.c answers reads with 0, which is also how a guest can tell the port is there.</summary>
    public void Read(ulong offset, Span<byte> data) => data.Clear();

    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        // The whole value written counts (QEMU passes the 1-, 2- or 4-byte value through); x86 port I/O is little-endian.
        Span<byte> value = stackalloc byte[sizeof(uint)];
        data[..Math.Min(data.Length, sizeof(uint))].CopyTo(value);
        systemControl.RequestStop(MachineStop.DebugExit(BinaryPrimitives.ReadUInt32LittleEndian(value)));
    }
}
