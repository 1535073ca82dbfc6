using Vessel.Devices.Serial;

namespace Vessel.Devices.Tests.Fakes;

/// <summary>Keeps everything a UART transmits.</summary>
public sealed class FakeSerialOutput : ISerialOutput
{
    private readonly List<byte> written = [];

    public byte[] Written => [.. written];

    public int Flushes { get; private set; }

    public void Write(ReadOnlySpan<byte> data) => written.AddRange(data);

    public void Flush() => Flushes++;
}
