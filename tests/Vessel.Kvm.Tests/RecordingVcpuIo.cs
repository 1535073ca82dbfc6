using Vessel.Core.Accel;

namespace Vessel.Kvm.Tests;

/// <summary>An <see cref="IVcpuIo"/> that records every access and answers reads with a fixed pattern.</summary>
internal sealed class RecordingVcpuIo : IVcpuIo
{
    public List<(string Kind, ulong Address, byte[] Data)> Accesses { get; } = [];

    /// <summary>What a read returns: byte i of each access is ReadValue + i.</summary>
    public byte ReadValue { get; set; } = 0xA0;

    public Action<ushort, byte[]>? OnPortWrite { get; set; }

    /// <summary>Called after a port read is answered and recorded.</summary>
    public Action<ushort>? OnPortRead { get; set; }

    public void PortRead(ushort port, Span<byte> data)
    {
        Fill(data);
        Accesses.Add(("in", port, data.ToArray()));
        ReadValue += (byte)data.Length;
        OnPortRead?.Invoke(port);
    }

    public void PortWrite(ushort port, ReadOnlySpan<byte> data)
    {
        Accesses.Add(("out", port, data.ToArray()));
        OnPortWrite?.Invoke(port, data.ToArray());
    }

    public void MmioRead(ulong address, Span<byte> data)
    {
        Fill(data);
        Accesses.Add(("mmio-read", address, data.ToArray()));
    }

    public void MmioWrite(ulong address, ReadOnlySpan<byte> data) => Accesses.Add(("mmio-write", address, data.ToArray()));

    private void Fill(Span<byte> data)
    {
        for (int i = 0; i < data.Length; i++)
        {
            data[i] = (byte)(ReadValue + i);
        }
    }
}
