using Vessel.Core.Bus;
using Vessel.Core.Interrupts;

namespace Vessel.Devices.Testing;

/// <summary>
/// pc-testdev's interrupt-line ports: writing a non-zero byte to port 0x2000+n raises GSI n, writing zero lowers it. A
/// test uses this to exercise edge- and level-triggered delivery through the PIC and IOAPIC.
/// </summary>
public sealed class TestInterruptLines : IBusDevice
{
    public const int Count = 24;

    private readonly IInterruptLine[] lines;

    public TestInterruptLines(Func<int, IInterruptLine> lineForGsi)
    {
        lines = new IInterruptLine[Count];
        for (int gsi = 0; gsi < Count; gsi++)
        {
            lines[gsi] = lineForGsi(gsi);
        }
    }

    public void Read(ulong offset, Span<byte> data) => data.Clear();

    /// <summary>Each byte of a wider write drives its own line, as separate byte writes would.</summary>
    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        for (int index = 0; index < data.Length; index++)
        {
            ulong line = offset + (ulong)index;
            if (line < Count)
            {
                lines[line].SetLevel(data[index] != 0);
            }
        }
    }
}
