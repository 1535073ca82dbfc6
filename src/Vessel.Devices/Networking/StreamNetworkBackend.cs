using System.Buffers.Binary;
using System.Net.Sockets;
using Vessel.Core.Logging;
using Vessel.Devices.Io;

namespace Vessel.Devices.Networking;

/// <summary>
/// Ethernet frames over a connected stream socket, each preceded by its length as a 4-byte big-endian number: the protocol of
/// QEMU's <c>-netdev stream</c>, which passt speaks on its Unix socket. Incoming bytes collect in one buffer and are cut into
/// frames there, so a frame split across reads is reassembled; nothing is allocated per frame.
/// </summary>
public sealed class StreamNetworkBackend : INetworkBackend
{
    private const int LengthPrefixSize = 4;

    /// <summary>How long a send waits for room in the socket before the frame is dropped (the peer has stopped reading).</summary>
    private static readonly TimeSpan SendTimeout = TimeSpan.FromSeconds(2);

    private readonly Socket socket;
    private readonly IoEventLoop ioThread;
    private readonly IMachineLog log;
    private readonly string name;
    private readonly object interestLock = new();
    private readonly byte[] incoming = new byte[4 * 65536];
    private readonly byte[] outgoing = new byte[LengthPrefixSize + 65536 + 64];
    private readonly Readable readable;
    private readonly IDisposable? owned;
    private Action? frameMayBeWaiting;
    private int incomingStart;
    private int incomingEnd;
    private bool watching;
    private bool closed;
    private bool disposed;

    /// <param name="owned">Disposed with the backend: the peer's process, for one Vessel started.</param>
    public StreamNetworkBackend(Socket socket, IoEventLoop ioThread, IMachineLog log, string name, IDisposable? owned = null)
    {
        this.socket = socket;
        this.owned = owned;
        this.ioThread = ioThread;
        this.log = log;
        this.name = name;
        socket.Blocking = false;
        readable = new Readable(this);
    }

    public int VirtioHeaderLength => 0;

    /// <summary>passt checksums what it sends, so the guest may skip checking (GUEST_CSUM); it takes only complete frames.</summary>
    public ulong OffloadFeatures => Virtio.Net.NetFeature.GuestChecksum;

    /// <summary>When set, DHCP replies from the peer name this IPv4 address as the DNS server (see <see cref="DhcpDnsRewriter"/>).</summary>
    public byte[]? AnnouncedDnsServer { get; init; }

    /// <summary>Frames dropped: a send that found no room in time, or a frame too large for the device's buffer.</summary>
    public long DroppedFrames { get; private set; }

    public void Start(Action frameMayBeWaiting) => this.frameMayBeWaiting = frameMayBeWaiting;

    public void SetOffloads(ulong negotiatedFeatures)
    {
    }

    public void SetReceiveInterest(bool interested)
    {
        lock (interestLock)
        {
            if (disposed || closed || interested == watching)
            {
                return;
            }

            if (interested)
            {
                ioThread.Watch((int)socket.Handle, readable);
            }
            else
            {
                ioThread.Unwatch((int)socket.Handle);
            }

            watching = interested;
        }
    }

    public int Receive(Span<byte> buffer)
    {
        while (true)
        {
            int available = incomingEnd - incomingStart;
            if (available >= LengthPrefixSize)
            {
                int length = (int)Math.Min(BinaryPrimitives.ReadUInt32BigEndian(incoming.AsSpan(incomingStart)), int.MaxValue);
                if (length > incoming.Length - LengthPrefixSize)
                {
                    // The stream cannot be resynchronised after a length no frame has: stop reading it.
                    Close($"the peer sent a frame length of {length} bytes, larger than any Ethernet frame");
                    return 0;
                }

                if (available >= LengthPrefixSize + length)
                {
                    var frame = incoming.AsSpan(incomingStart + LengthPrefixSize, length);
                    incomingStart += LengthPrefixSize + length;
                    if (length > buffer.Length || length == 0)
                    {
                        DroppedFrames++;
                        continue;
                    }

                    frame.CopyTo(buffer);
                    if (AnnouncedDnsServer is { } dns)
                    {
                        DhcpDnsRewriter.Rewrite(buffer[..length], dns);
                    }

                    return length;
                }
            }

            if (closed || !Fill())
            {
                return 0;
            }
        }
    }

    public void Send(ReadOnlySpan<byte> frame)
    {
        if (closed || frame.Length > outgoing.Length - LengthPrefixSize)
        {
            DroppedFrames++;
            return;
        }

        BinaryPrimitives.WriteUInt32BigEndian(outgoing, (uint)frame.Length);
        frame.CopyTo(outgoing.AsSpan(LengthPrefixSize));
        int total = LengthPrefixSize + frame.Length;
        int sent = 0;
        long deadline = Environment.TickCount64 + (long)SendTimeout.TotalMilliseconds;
        while (sent < total)
        {
            int count = socket.Send(outgoing.AsSpan(sent, total - sent), SocketFlags.None, out var error);
            if (count > 0)
            {
                sent += count;
                continue;
            }

            if (error != SocketError.WouldBlock || Environment.TickCount64 > deadline)
            {
                if (sent > 0 || error != SocketError.WouldBlock)
                {
                    // Half a frame cannot be taken back: the stream is out of step, so it is closed.
                    Close($"sending a frame failed ({error})");
                }

                DroppedFrames++;
                return;
            }

            socket.Poll(TimeSpan.FromMilliseconds(50), SelectMode.SelectWrite);
        }
    }

    public void Dispose()
    {
        lock (interestLock)
        {
            if (disposed)
            {
                return;
            }

            // The machine disposes its backends after its I/O thread, whose epoll set is gone; closing the socket is enough.
            disposed = true;
        }

        socket.Dispose();
        owned?.Dispose();
    }

    /// <summary>Reads what the socket has into the free end of the buffer; false when it had nothing (or has closed).</summary>
    private bool Fill()
    {
        if (incomingStart == incomingEnd)
        {
            incomingStart = incomingEnd = 0;
        }
        else if (incomingStart > 0 && incoming.Length - incomingEnd < 65536)
        {
            incoming.AsSpan(incomingStart, incomingEnd - incomingStart).CopyTo(incoming);
            incomingEnd -= incomingStart;
            incomingStart = 0;
        }

        int count = socket.Receive(incoming.AsSpan(incomingEnd), SocketFlags.None, out var error);
        if (count > 0)
        {
            incomingEnd += count;
            return true;
        }

        if (error != SocketError.WouldBlock)
        {
            Close(error == SocketError.Success ? "the peer closed the connection" : $"reading failed ({error})");
        }

        return false;
    }

    private void Close(string why)
    {
        lock (interestLock)
        {
            if (closed)
            {
                return;
            }

            if (watching && !disposed)
            {
                ioThread.Unwatch((int)socket.Handle);
                watching = false;
            }

            closed = true;
        }

        log.Warn($"{name}: {why}; the network interface is disconnected.");
    }

    /// <summary>The socket became readable: stop watching (the device re-arms when it has read all) and tell the device.</summary>
    private sealed class Readable(StreamNetworkBackend owner) : IoWork
    {
        public override void Run()
        {
            owner.SetReceiveInterest(false);
            owner.frameMayBeWaiting?.Invoke();
        }
    }
}
