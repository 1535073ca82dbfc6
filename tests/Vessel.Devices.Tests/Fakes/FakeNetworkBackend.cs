using Vessel.Devices.Networking;

namespace Vessel.Devices.Tests.Fakes;

/// <summary>A network backend in memory: frames the test queues come in, frames the device sends are kept.</summary>
public sealed class FakeNetworkBackend(int virtioHeaderLength = 0, ulong offloads = 0) : INetworkBackend
{
    private readonly Queue<byte[]> incoming = new();
    private Action? frameMayBeWaiting;

    public int VirtioHeaderLength => virtioHeaderLength;

    public ulong OffloadFeatures => offloads;

    public List<byte[]> Sent { get; } = [];

    public bool ReceiveInterest { get; private set; }

    public ulong NegotiatedOffloads { get; private set; }

    public int Waiting => incoming.Count;

    public void Start(Action frameMayBeWaiting) => this.frameMayBeWaiting = frameMayBeWaiting;

    public void SetReceiveInterest(bool interested) => ReceiveInterest = interested;

    public void SetOffloads(ulong negotiatedFeatures) => NegotiatedOffloads = negotiatedFeatures;

    /// <summary>A frame arrives from the host side; the device hears of it as it would of a readable socket.</summary>
    public void Arrive(byte[] frame)
    {
        incoming.Enqueue(frame);
        if (ReceiveInterest)
        {
            ReceiveInterest = false;
            frameMayBeWaiting?.Invoke();
        }
    }

    public int Receive(Span<byte> buffer)
    {
        while (incoming.TryDequeue(out var frame))
        {
            if (frame.Length <= buffer.Length && frame.Length > 0)
            {
                frame.CopyTo(buffer);
                return frame.Length;
            }
        }

        return 0;
    }

    public void Send(ReadOnlySpan<byte> frame) => Sent.Add(frame.ToArray());

    public void Dispose()
    {
    }
}
