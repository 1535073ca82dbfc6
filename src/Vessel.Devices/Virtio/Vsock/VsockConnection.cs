using System.Net.Sockets;
using Vessel.Devices.Io;

namespace Vessel.Devices.Virtio.Vsock;

/// <summary>
/// One stream between a host Unix socket and a guest port, keyed by (local port, peer port): the host side's port as the
/// guest sees it and the guest's port. It keeps both directions' credit (virtio 1.2 §5.10.6.3): what the guest may still
/// be sent (its buf_alloc less what is in flight), and what this side has forwarded to the host socket (fwd_cnt). Bytes
/// the host socket cannot take at once wait in a backlog no larger than the buf_alloc the guest was given, which the
/// guest's own credit accounting keeps it within.
/// </summary>
internal sealed class VsockConnection
{
    private byte[]? backlog;
    private int backlogStart;

    public VsockConnection(Socket socket, uint localPort, uint peerPort, VsockConnectionState state)
    {
        Socket = socket;
        Descriptor = (int)socket.Handle;
        LocalPort = localPort;
        PeerPort = peerPort;
        State = state;
    }

    public Socket Socket { get; }

    public int Descriptor { get; }

    /// <summary>The host end's port: source port of what the device sends, destination port of what the guest sends.</summary>
    public uint LocalPort { get; }

    /// <summary>The guest's port.</summary>
    public uint PeerPort { get; }

    public ulong Key => KeyOf(LocalPort, PeerPort);

    public VsockConnectionState State { get; set; }

    /// <summary>What the I/O thread runs when the host socket is ready.</summary>
    public required IoWork Events { get; init; }

    /// <summary>What the I/O thread currently watches the socket for.</summary>
    public IoReadiness Watched { get; set; }

    public VsockPendingPackets Pending { get; set; }

    /// <summary>The host socket may have bytes for the guest (cleared when a read finds none, which re-arms the watch).</summary>
    public bool HostReadable { get; set; }

    /// <summary>A read from the host socket returned end of stream.</summary>
    public bool HostEndOfStream { get; set; }

    /// <summary>shutdown(SHUT_WR) was done on the host socket after the guest's SHUTDOWN with SEND.</summary>
    public bool HostWriteShut { get; set; }

    /// <summary>What the guest said it will no longer do.</summary>
    public VsockShutdown PeerShutdown { get; set; }

    /// <summary>The guest's buf_alloc and fwd_cnt, from its latest packet.</summary>
    public uint PeerBufferAllocation { get; set; }

    public uint PeerForwardCount { get; set; }

    /// <summary>Payload bytes sent to the guest (the guest's rx_cnt, from this side).</summary>
    public uint SentToGuest { get; set; }

    /// <summary>fwd_cnt: payload bytes from the guest that were written to the host socket.</summary>
    public uint ForwardCount { get; private set; }

    /// <summary>The fwd_cnt the guest last heard.</summary>
    public uint AdvertisedForwardCount { get; set; }

    /// <summary>Queued for <see cref="VirtioVsockDevice"/>'s delivery to the guest (at most once).</summary>
    public bool Queued { get; set; }

    /// <summary>Closed and forgotten: a queued or watched reference to it is stale.</summary>
    public bool Removed { get; set; }

    public int BacklogCount { get; private set; }

    /// <summary>Bytes the guest may still be sent without overrunning its buffer; 0 when a bogus fwd_cnt claims otherwise.</summary>
    public uint PeerCredit
    {
        get
        {
            uint inFlight = SentToGuest - PeerForwardCount;
            return inFlight >= PeerBufferAllocation ? 0 : PeerBufferAllocation - inFlight;
        }
    }

    public static ulong KeyOf(uint localPort, uint peerPort) => ((ulong)localPort << 32) | peerPort;

    /// <summary>
    /// Writes guest data to the host socket, keeping what it cannot take yet (after any older backlog, so order holds).
    /// False when the socket failed or the guest sent more than the credit it was given.
    /// </summary>
    public bool Forward(ReadOnlySpan<byte> data, int capacity)
    {
        if (BacklogCount == 0)
        {
            int sent = Send(data);
            if (sent < 0)
            {
                return false;
            }

            data = data[sent..];
        }

        if (data.IsEmpty)
        {
            return true;
        }

        if (BacklogCount + data.Length > capacity)
        {
            return false;
        }

        backlog ??= new byte[capacity];
        int end = (backlogStart + BacklogCount) % capacity;
        int first = Math.Min(data.Length, capacity - end);
        data[..first].CopyTo(backlog.AsSpan(end));
        data[first..].CopyTo(backlog);
        BacklogCount += data.Length;
        return true;
    }

    /// <summary>Writes as much of the backlog as the socket takes; false when the socket failed.</summary>
    public bool Flush()
    {
        while (BacklogCount > 0)
        {
            int contiguous = Math.Min(BacklogCount, backlog!.Length - backlogStart);
            int sent = Send(backlog.AsSpan(backlogStart, contiguous));
            if (sent < 0)
            {
                return false;
            }

            if (sent == 0)
            {
                return true;
            }

            backlogStart = (backlogStart + sent) % backlog.Length;
            BacklogCount -= sent;
        }

        backlogStart = 0;
        return true;
    }

    /// <summary>Non-blocking send: the bytes taken (0 when the socket is full), or -1 when it failed.</summary>
    private int Send(ReadOnlySpan<byte> data)
    {
        int total = 0;
        while (total < data.Length)
        {
            int sent = Socket.Send(data[total..], SocketFlags.None, out var error);
            if (sent > 0)
            {
                total += sent;
                continue;
            }

            if (error == SocketError.WouldBlock)
            {
                break;
            }

            return -1;
        }

        ForwardCount += (uint)total;
        return total;
    }
}
