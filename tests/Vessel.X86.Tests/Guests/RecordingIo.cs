using System.Text;
using Vessel.Core.Accel;

namespace Vessel.X86.Tests.Guests;

/// <summary>
/// A minimal machine for CPU tests: bytes written to port 0x3F8 are collected as console text, a write to 0xF4 ends the run
/// with that value, and MMIO reads return all ones. Everything is recorded for assertions.
/// </summary>
public sealed class RecordingIo : IVcpuIo
{
    public const ushort ConsolePort = 0x3F8;
    public const ushort ExitPort = 0xF4;

    private readonly StringBuilder console = new();

    public Action? OnExit { get; set; }

    public uint? ExitValue { get; private set; }

    public string Console => console.ToString();

    public List<(ushort Port, uint Value, int Size)> PortWrites { get; } = [];

    public Func<ushort, int, uint>? PortReadHandler { get; set; }

    /// <summary>Called on the vCPU's thread for every port write, after it is recorded.</summary>
    public Action<ushort, uint>? PortWriteHandler { get; set; }

    public void PortRead(ushort port, Span<byte> data)
    {
        uint value = PortReadHandler?.Invoke(port, data.Length) ?? 0xFFFF_FFFF;
        for (int i = 0; i < data.Length; i++)
        {
            data[i] = (byte)(value >> (8 * i));
        }
    }

    public void PortWrite(ushort port, ReadOnlySpan<byte> data)
    {
        uint value = 0;
        for (int i = 0; i < data.Length; i++)
        {
            value |= (uint)data[i] << (8 * i);
        }

        PortWrites.Add((port, value, data.Length));
        PortWriteHandler?.Invoke(port, value);
        if (port == ConsolePort)
        {
            console.Append((char)data[0]);
        }
        else if (port == ExitPort)
        {
            ExitValue = value;
            OnExit?.Invoke();
        }
    }

    public void MmioRead(ulong address, Span<byte> data) => data.Fill(0xFF);

    public void MmioWrite(ulong address, ReadOnlySpan<byte> data)
    {
    }
}
