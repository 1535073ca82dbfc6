using System.Buffers.Binary;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Vessel.Core.Logging;
using Vessel.Core.Snapshots;
using Vessel.Devices.Io;
using Vessel.Devices.Virtio.Queues;

namespace Vessel.Devices.Virtio.Vsock;

/// <summary>
/// virtio-vsock (virtio 1.2 §5.10): stream sockets between the guest (its context ID) and the host, over Unix sockets in
/// Firecracker's convention so its tooling works. A guest connection to the host (CID 2) port P is connected to the Unix
/// socket <c>{udsPath}_{P}</c>; a host process that connects to <c>udsPath</c> and writes <c>CONNECT P\n</c> is connected to
/// the guest's port P and reads <c>OK {local port}\n</c> once the guest accepts (the socket is closed if it refuses).
/// </summary>
/// <remarks>
/// Every socket is served by the machine's I/O thread (epoll, non-blocking), never a thread per connection. All state is
/// guarded by one lock: queue work runs under the transport's lock and takes it; socket work takes only it and hands
/// anything for the guest to the receive queue's work. Each guest packet's header is checked field by field, and one
/// that is wrong in any way is answered with RST (never an exception). Memory is bounded: at most
/// <see cref="MaximumConnections"/> connections, each with a backlog of at most <see cref="BufferAllocation"/> bytes
/// (the credit the guest is given), and at most <see cref="MaximumPendingClients"/> host clients before their CONNECT line.
/// A snapshot carries no connection (as on Firecracker: the host sockets belong to the old process); a restored device
/// tells the guest so with VIRTIO_VSOCK_EVENT_TRANSPORT_RESET on the event queue.
/// </remarks>
public sealed class VirtioVsockDevice : VirtioDevice, IStateful, IDisposable
{
    public const int ReceiveQueue = 0;
    public const int TransmitQueue = 1;
    public const int EventQueue = 2;

    /// <summary>buf_alloc: the bytes each connection holds for the host socket, and so the guest's credit per connection.</summary>
    public const int BufferAllocation = 256 * 1024;

    /// <summary>The largest payload of one packet (Linux's VIRTIO_VSOCK_MAX_PKT_BUF_SIZE).</summary>
    public const int MaximumPayload = 64 * 1024;

    /// <summary>Firecracker's limit; a REQUEST or CONNECT beyond it is refused.</summary>
    public const int MaximumConnections = 1024;

    public const int MaximumPendingClients = 64;

    /// <summary>Ports the device picks for host-initiated connections start here (Firecracker's convention), far from the guest's.</summary>
    public const uint FirstLocalPort = 1u << 30;

    /// <summary>VIRTIO_VSOCK_EVENT_TRANSPORT_RESET (§5.10.6.7): the id of the only event, in a 4-byte virtio_vsock_event.</summary>
    public const uint TransportResetEvent = 0;

    /// <summary>sizeof(struct virtio_vsock_event): one le32 id.</summary>
    public const int EventSize = 4;

    /// <summary>RSTs for packets that belong to no connection, waiting for receive buffers; more are dropped (the guest times out).</summary>
    private const int MaximumOrphanResets = 64;

    /// <summary>Packets delivered per run before the I/O thread goes to other devices (the run schedules itself again).</summary>
    private const int DeliveryBudget = 256;

    /// <summary>sun_path holds 108 bytes with its terminating zero; "_4294967295" is added for guest-initiated connections.</summary>
    private const int MaximumSocketPathBytes = 107 - 11;

    private readonly Lock sync = new();
    private readonly ulong guestCid;
    private readonly string udsPath;
    private readonly IoEventLoop ioThread;
    private readonly IMachineLog log;
    private readonly string name;
    private readonly Socket listener;
    private readonly ListenerReady listenerReady;
    private readonly Dictionary<ulong, VsockConnection> connections = new(MaximumConnections);
    private readonly Queue<VsockConnection> delivery = new(MaximumConnections);
    private readonly List<VsockHostClient> clients = new(MaximumPendingClients);
    private readonly (uint LocalPort, uint PeerPort)[] orphanResets = new (uint, uint)[MaximumOrphanResets];
    private readonly byte[] configuration = new byte[8];
    private readonly byte[] transmitPayload = new byte[MaximumPayload];
    private readonly byte[] receivePayload = new byte[MaximumPayload];
    private readonly DescriptorChain transmitChain;
    private readonly DescriptorChain receiveChain;
    private readonly DescriptorChain eventChain;
    private readonly LogRateLimiter guestErrors = new(refillInterval: TimeSpan.FromSeconds(60));
    private int orphanStart;
    private int orphanCount;
    private uint nextLocalPort = FirstLocalPort;
    private bool listening;
    private bool disposed;
    private bool transportResetPending;

    /// <summary>Creates the device and its listening socket at <paramref name="udsPath"/>.</summary>
    /// <exception cref="IOException">The socket path is unusable (too long, already there, its folder missing or closed).</exception>
    public VirtioVsockDevice(ulong guestCid, string udsPath, IoEventLoop ioThread, IMachineLog log, string name = "virtio-vsock", ushort queueSize = 256)
    {
        if (guestCid < 3 || guestCid > uint.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(guestCid), "A guest context ID is 3 to 4294967295 (0-2 are reserved).");
        }

        if (Encoding.UTF8.GetByteCount(udsPath) > MaximumSocketPathBytes)
        {
            throw new IOException($"the vsock socket path '{udsPath}' is longer than {MaximumSocketPathBytes} bytes, which a Unix socket path with a port suffix cannot hold. Choose a shorter path.");
        }

        if (Path.Exists(udsPath))
        {
            throw new IOException($"the vsock socket path '{udsPath}' already exists (a previous VM's socket?). Remove it or choose another path.");
        }

        this.guestCid = guestCid;
        this.udsPath = udsPath;
        this.ioThread = ioThread;
        this.log = log;
        this.name = name;
        MaximumQueueSize = queueSize;
        transmitChain = new DescriptorChain(queueSize);
        receiveChain = new DescriptorChain(queueSize);
        eventChain = new DescriptorChain(queueSize);
        BinaryPrimitives.WriteUInt64LittleEndian(configuration, guestCid);
        listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            listener.Bind(new UnixDomainSocketEndPoint(udsPath));
            listener.Listen(MaximumPendingClients);
            listener.Blocking = false;
        }
        catch (SocketException exception)
        {
            listener.Dispose();
            throw new IOException($"cannot listen on the vsock socket '{udsPath}': {exception.Message}. Check that its folder exists and is writable.", exception);
        }

        listenerReady = new ListenerReady(this);
    }

    public override VirtioDeviceType Type => VirtioDeviceType.Socket;

    /// <summary>No feature bits: stream sockets only (VIRTIO_VSOCK_F_STREAM is implied without SEQPACKET, §5.10.3).</summary>
    public override ulong DeviceFeatures => 0;

    public override int QueueCount => 3;

    public override ushort MaximumQueueSize { get; }

    public override int ConfigurationSize => configuration.Length;

    public ulong GuestCid => guestCid;

    public string SocketPath => udsPath;

    /// <summary>Open connections (established or waiting for the guest's answer).</summary>
    public int ConnectionCount
    {
        get
        {
            lock (sync)
            {
                return connections.Count;
            }
        }
    }

    /// <summary>Guest packets refused with RST or dropped for a malformed header.</summary>
    public long RefusedPackets { get; private set; }

    /// <summary>Layout 1: the guest CID. Nothing per connection is saved.</summary>
    public int StateVersion => 1;

    /// <summary>Set after a restore until the guest's driver has been sent TRANSPORT_RESET (it needs an event buffer).</summary>
    public bool TransportResetPending
    {
        get
        {
            lock (sync)
            {
                return transportResetPending;
            }
        }
    }

    /// <summary>
    /// Only the guest CID, to check the restoring machine's configuration against: connections are not carried (their host
    /// sockets belong to this process), as on Firecracker.
    /// </summary>
    public void SaveState(StateWriter writer) => writer.WriteUInt64(guestCid);

    /// <summary>
    /// Checks the CID and, when the driver had the device running, queues TRANSPORT_RESET so the guest drops the connections
    /// it had; it is sent the next time any queue is served (the transport serves each once after a restore).
    /// </summary>
    public void RestoreState(StateReader reader, int version)
    {
        ulong savedCid = reader.ReadUInt64();
        if (savedCid != guestCid)
        {
            throw new SnapshotFormatException(
                $"{name}: the snapshot's guest CID is {savedCid} and this machine's vsock has CID {guestCid}; restore with the snapshot's vsock configuration (guest_cid {savedCid}).");
        }

        lock (sync)
        {
            transportResetPending = Context != null;
        }
    }

    public override void ReadConfiguration(int offset, Span<byte> data) => configuration.AsSpan(offset, data.Length).CopyTo(data);

    public override void ProcessQueue(int queueIndex)
    {
        lock (sync)
        {
            // A restored guest hears TRANSPORT_RESET before any packet of the new process.
            if (transportResetPending)
            {
                SendTransportReset();
            }

            if (queueIndex == TransmitQueue)
            {
                ServeTransmit();
                Deliver();
            }
            else if (queueIndex == ReceiveQueue)
            {
                Deliver();
            }
        }
    }

    public void Dispose()
    {
        lock (sync)
        {
            if (disposed)
            {
                return;
            }

            disposed = true;
            CloseAll();
            listener.Dispose();
        }

        try
        {
            File.Delete(udsPath);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    protected override void OnActivated()
    {
        lock (sync)
        {
            if (!disposed && !listening)
            {
                ioThread.Watch((int)listener.Handle, listenerReady);
                listening = true;
            }
        }
    }

    /// <summary>§5.10.6.6 leaves a reset's effect on connections to the device: every one is closed, host sockets included.</summary>
    protected override void OnReset()
    {
        lock (sync)
        {
            transportResetPending = false;
            CloseAll();
        }
    }

    /// <summary>
    /// Puts TRANSPORT_RESET in the guest's next event buffer; without one it stays pending until the driver adds one (its
    /// kick serves the event queue). Linux then resets every socket and rereads the CID.
    /// </summary>
    private void SendTransportReset()
    {
        var context = Context;
        if (context == null)
        {
            return;
        }

        var queue = context.Queues[EventQueue];
        Span<byte> bytes = stackalloc byte[EventSize];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, TransportResetEvent);
        while (true)
        {
            var result = queue.TryPop(eventChain);
            if (result == PopResult.Empty)
            {
                break;
            }

            if (result == PopResult.Violation)
            {
                transportResetPending = false;
                context.Fail($"event queue: {queue.Violation}");
                return;
            }

            if (eventChain.WritableLength < EventSize)
            {
                Refused($"a {eventChain.WritableLength}-byte event buffer cannot hold a {EventSize}-byte event; returned empty");
                queue.PushUsed(eventChain.Head, 0);
                continue;
            }

            eventChain.Write(context.Memory, 0, bytes);
            queue.PushUsed(eventChain.Head, EventSize);
            transportResetPending = false;
            break;
        }

        if (queue.NeedsInterrupt())
        {
            context.NotifyUsed(EventQueue);
        }
    }

    private void CloseAll()
    {
        if (listening)
        {
            ioThread.Unwatch((int)listener.Handle);
            listening = false;
        }

        foreach (var connection in connections.Values)
        {
            Forget(connection);
        }

        connections.Clear();
        delivery.Clear();
        foreach (var client in clients)
        {
            DropClient(client);
        }

        clients.Clear();
        orphanCount = 0;
    }

    private void ServeTransmit()
    {
        var context = Context;
        if (context == null)
        {
            return;
        }

        var queue = context.Queues[TransmitQueue];
        while (true)
        {
            var result = queue.TryPop(transmitChain);
            if (result == PopResult.Empty)
            {
                break;
            }

            if (result == PopResult.Violation)
            {
                context.Fail($"transmit queue: {queue.Violation}");
                return;
            }

            HandlePacket(context, transmitChain);
            queue.PushUsed(transmitChain.Head, 0);
        }

        if (queue.NeedsInterrupt())
        {
            context.NotifyUsed(TransmitQueue);
        }
    }

    /// <summary>One packet from the guest: header checked field by field, then given to its connection.</summary>
    private void HandlePacket(IVirtioDeviceContext context, DescriptorChain chain)
    {
        Span<byte> bytes = stackalloc byte[VsockPacketHeader.Size];
        if (chain.ReadableLength < VsockPacketHeader.Size || chain.Read(context.Memory, 0, bytes) != VsockPacketHeader.Size)
        {
            // Without a whole header there are no ports to answer to.
            Refused($"a {chain.ReadableLength}-byte transmit buffer is shorter than the {VsockPacketHeader.Size}-byte packet header; dropped");
            return;
        }

        var header = VsockPacketHeader.Read(bytes);
        string? fault = Check(header, chain.ReadableLength - VsockPacketHeader.Size);
        if (fault != null)
        {
            Refused(fault);
            if (header.Operation != VsockOperation.Reset)
            {
                ResetConnection(header.DestinationPort, header.SourcePort);
            }

            return;
        }

        if (!connections.TryGetValue(VsockConnection.KeyOf(header.DestinationPort, header.SourcePort), out var connection))
        {
            if (header.Operation == VsockOperation.Request)
            {
                ConnectToHost(header);
            }
            else if (header.Operation != VsockOperation.Reset)
            {
                // §5.10.6.3: a packet for no connection is answered with RST.
                QueueOrphanReset(header.DestinationPort, header.SourcePort);
            }

            return;
        }

        connection.PeerBufferAllocation = header.BufferAllocation;
        connection.PeerForwardCount = header.ForwardCount;
        switch (header.Operation)
        {
            case VsockOperation.Reset:
                Remove(connection, sendReset: false);
                return;
            case VsockOperation.Response when connection.State == VsockConnectionState.AwaitingGuestResponse:
                Accepted(connection);
                break;
            case VsockOperation.ReadWrite when connection.State == VsockConnectionState.Established && (connection.PeerShutdown & VsockShutdown.Send) == 0:
                int length = (int)header.Length;
                var payload = transmitPayload.AsSpan(0, length);
                if (chain.Read(context.Memory, VsockPacketHeader.Size, payload) != length || !connection.Forward(payload, BufferAllocation))
                {
                    Refused($"port {header.SourcePort}: the guest sent more than its credit, or the host socket failed; connection reset");
                    Remove(connection, sendReset: true);
                    return;
                }

                break;
            case VsockOperation.Shutdown when connection.State == VsockConnectionState.Established:
                connection.PeerShutdown |= (VsockShutdown)header.Flags;
                break;
            case VsockOperation.CreditRequest:
                connection.Pending |= VsockPendingPackets.CreditUpdate;
                break;
            case VsockOperation.CreditUpdate:
                break;
            default:
                // A second REQUEST for a live connection, a RESPONSE nobody asked for, data or SHUTDOWN before the answer.
                Refused($"port {header.SourcePort}: {header.Operation} is not valid on a connection in state {connection.State}; connection reset");
                Remove(connection, sendReset: true);
                return;
        }

        if (AfterHostWrite(connection))
        {
            Update(connection);
        }
    }

    /// <summary>What is wrong with a guest packet's header, or null. <paramref name="payloadRoom"/> is what the buffer holds after it.</summary>
    private string? Check(in VsockPacketHeader header, ulong payloadRoom)
    {
        if (header.SourceCid != guestCid)
        {
            return $"a packet's source CID {header.SourceCid} is not the guest's {guestCid}";
        }

        if (header.DestinationCid != VsockPacketHeader.HostCid)
        {
            return $"a packet is for CID {header.DestinationCid}; only the host (2) is reachable";
        }

        if (header.Type != VsockPacketHeader.StreamType)
        {
            return $"a packet has socket type {header.Type}; only stream (1) is offered";
        }

        if (header.Operation is < VsockOperation.Request or > VsockOperation.CreditRequest)
        {
            return $"a packet has operation {(ushort)header.Operation}, which virtio-vsock does not define";
        }

        if (header.Operation == VsockOperation.ReadWrite)
        {
            if (header.Length == 0 || header.Length > MaximumPayload || header.Length > payloadRoom)
            {
                return $"an RW packet claims {header.Length} bytes with {payloadRoom} in its buffer (at most {MaximumPayload})";
            }
        }
        else if (header.Length != 0)
        {
            return $"a {header.Operation} packet claims a {header.Length}-byte payload";
        }

        uint allowedFlags = header.Operation == VsockOperation.Shutdown ? (uint)VsockShutdown.Both : 0;
        if ((header.Flags & ~allowedFlags) != 0)
        {
            return $"a {header.Operation} packet has flags 0x{header.Flags:x}";
        }

        return null;
    }

    /// <summary>A guest REQUEST to host port P: connect to <c>{udsPath}_P</c> (non-blocking) and answer RESPONSE, or RST.</summary>
    private void ConnectToHost(in VsockPacketHeader header)
    {
        if (connections.Count >= MaximumConnections)
        {
            Refused($"port {header.SourcePort}: {MaximumConnections} connections are open; the request is refused");
            QueueOrphanReset(header.DestinationPort, header.SourcePort);
            return;
        }

        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { Blocking = false };
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(string.Create(CultureInfo.InvariantCulture, $"{udsPath}_{header.DestinationPort}")));
        }
        catch (SocketException)
        {
            // Nobody listens there (or its backlog is full): the guest's connect() fails with ECONNRESET, as on Firecracker.
            socket.Dispose();
            QueueOrphanReset(header.DestinationPort, header.SourcePort);
            return;
        }

        var events = new ConnectionReady(this);
        var connection = new VsockConnection(socket, header.DestinationPort, header.SourcePort, VsockConnectionState.Established)
        {
            Events = events,
            PeerBufferAllocation = header.BufferAllocation,
            PeerForwardCount = header.ForwardCount,
            Pending = VsockPendingPackets.Response,
            HostReadable = true,
        };
        events.Connection = connection;
        Add(connection);
    }

    /// <summary>The guest accepted a host client's connection: tell the client its port, as Firecracker does.</summary>
    private void Accepted(VsockConnection connection)
    {
        Span<byte> line = stackalloc byte[32];
        "OK "u8.CopyTo(line);
        connection.LocalPort.TryFormat(line[3..], out int digits, default, CultureInfo.InvariantCulture);
        line[3 + digits] = (byte)'\n';
        int length = 4 + digits;

        // An empty socket's buffer takes a short line whole; if it does not, the client is gone or stuck.
        int sent = connection.Socket.Send(line[..length], SocketFlags.None, out var error);
        if (sent != length || error != SocketError.Success)
        {
            Remove(connection, sendReset: true);
            return;
        }

        connection.State = VsockConnectionState.Established;
        connection.HostReadable = true;
    }

    /// <summary>
    /// After the host socket took bytes: a backlog emptied after the guest's SHUTDOWN finishes the host side, and forwarded
    /// bytes earn the guest a credit update. False when the connection was closed.
    /// </summary>
    private bool AfterHostWrite(VsockConnection connection)
    {
        if (connection.BacklogCount == 0 && connection.PeerShutdown != VsockShutdown.None)
        {
            if (connection.PeerShutdown == VsockShutdown.Both)
            {
                // Both directions shut: Linux waits for the RST that ends the connection (its close() lingers for it).
                Remove(connection, sendReset: true);
                return false;
            }

            if ((connection.PeerShutdown & VsockShutdown.Send) != 0 && !connection.HostWriteShut)
            {
                connection.HostWriteShut = true;
                try
                {
                    connection.Socket.Shutdown(SocketShutdown.Send);
                }
                catch (SocketException)
                {
                }
            }
        }

        // The guest stops sending when its credit runs out; once half the buffer is forwarded it should hear of the room.
        if (connection.ForwardCount - connection.AdvertisedForwardCount >= BufferAllocation / 2)
        {
            connection.Pending |= VsockPendingPackets.CreditUpdate;
        }

        return true;
    }

    /// <summary>Queues the connection for delivery if it has something for the guest, and watches its socket for what it needs.</summary>
    private void Update(VsockConnection connection)
    {
        if (!connection.Queued && HasPacketForGuest(connection))
        {
            connection.Queued = true;
            delivery.Enqueue(connection);
        }

        var wanted = IoReadiness.None;
        if (connection.State == VsockConnectionState.Established && !connection.HostReadable && !connection.HostEndOfStream
            && (connection.PeerShutdown & VsockShutdown.Receive) == 0)
        {
            wanted |= IoReadiness.Readable;
        }

        if (connection.BacklogCount > 0)
        {
            wanted |= IoReadiness.Writable;
        }

        if (wanted == connection.Watched)
        {
            return;
        }

        if (connection.Watched == IoReadiness.None)
        {
            ioThread.Watch(connection.Descriptor, connection.Events, wanted);
        }
        else if (wanted == IoReadiness.None)
        {
            ioThread.Unwatch(connection.Descriptor);
        }
        else
        {
            ioThread.ChangeWatch(connection.Descriptor, wanted);
        }

        connection.Watched = wanted;
    }

    private static bool CanSendData(VsockConnection connection) =>
        connection.State == VsockConnectionState.Established && connection.HostReadable && !connection.HostEndOfStream
        && (connection.PeerShutdown & VsockShutdown.Receive) == 0 && connection.PeerCredit > 0;

    private static bool HasPacketForGuest(VsockConnection connection) => connection.Pending != VsockPendingPackets.None || CanSendData(connection);

    /// <summary>Moves what is waiting for the guest into its receive buffers: RSTs for no connection first, then each queued connection.</summary>
    private void Deliver()
    {
        var context = Context;
        if (context == null)
        {
            return;
        }

        var queue = context.Queues[ReceiveQueue];
        int delivered = 0;
        while (delivered < DeliveryBudget)
        {
            if (orphanCount > 0)
            {
                var result = queue.TryPop(receiveChain);
                if (result != PopResult.Chain)
                {
                    if (result == PopResult.Violation)
                    {
                        context.Fail($"receive queue: {queue.Violation}");
                        return;
                    }

                    break;
                }

                var (localPort, peerPort) = orphanResets[orphanStart];
                orphanStart = (orphanStart + 1) % MaximumOrphanResets;
                orphanCount--;
                WritePacket(context, queue, localPort, peerPort, VsockOperation.Reset, 0, 0, 0, ReadOnlySpan<byte>.Empty);
                delivered++;
                continue;
            }

            if (!delivery.TryPeek(out var connection))
            {
                break;
            }

            if (connection.Removed)
            {
                delivery.Dequeue();
                continue;
            }

            var step = DeliverOne(context, queue, connection);
            if (step == PopResult.Violation)
            {
                context.Fail($"receive queue: {queue.Violation}");
                return;
            }

            if (step == PopResult.Empty)
            {
                if (!HasPacketForGuest(connection) || connection.Removed)
                {
                    delivery.Dequeue();
                    connection.Queued = false;
                    if (!connection.Removed)
                    {
                        Update(connection);
                    }

                    continue;
                }

                // The guest has no receive buffers: its notify when it adds some runs this again.
                break;
            }

            delivered++;
        }

        if (delivered == DeliveryBudget)
        {
            context.ScheduleQueue(ReceiveQueue);
        }

        if (delivered > 0 && queue.NeedsInterrupt())
        {
            context.NotifyUsed(ReceiveQueue);
        }
    }

    /// <summary>One packet for <paramref name="connection"/>: Chain when one was delivered, Empty when there was no buffer or nothing to send.</summary>
    private PopResult DeliverOne(IVirtioDeviceContext context, SplitVirtqueue queue, VsockConnection connection)
    {
        while (HasPacketForGuest(connection))
        {
            var result = queue.TryPop(receiveChain);
            if (result != PopResult.Chain)
            {
                return result;
            }

            if (receiveChain.WritableLength < VsockPacketHeader.Size)
            {
                // A buffer too small for any packet: returned empty, which the driver discards (and the guest pays for).
                Refused($"a {receiveChain.WritableLength}-byte receive buffer cannot hold a packet header; returned empty");
                queue.PushUsed(receiveChain.Head, 0);
                return PopResult.Chain;
            }

            var pending = connection.Pending;
            if ((pending & VsockPendingPackets.Request) != 0)
            {
                connection.Pending &= ~VsockPendingPackets.Request;
                WritePacket(context, queue, connection, VsockOperation.Request, 0, ReadOnlySpan<byte>.Empty);
                return PopResult.Chain;
            }

            if ((pending & VsockPendingPackets.Response) != 0)
            {
                connection.Pending &= ~VsockPendingPackets.Response;
                WritePacket(context, queue, connection, VsockOperation.Response, 0, ReadOnlySpan<byte>.Empty);
                return PopResult.Chain;
            }

            if (CanSendData(connection))
            {
                int room = (int)Math.Min(Math.Min(receiveChain.WritableLength - VsockPacketHeader.Size, (ulong)MaximumPayload), connection.PeerCredit);
                int read = connection.Socket.Receive(receivePayload.AsSpan(0, room), SocketFlags.None, out var error);
                if (read > 0)
                {
                    connection.SentToGuest += (uint)read;
                    WritePacket(context, queue, connection, VsockOperation.ReadWrite, 0, receivePayload.AsSpan(0, read));
                    return PopResult.Chain;
                }

                queue.UndoPop(1);
                if (error == SocketError.WouldBlock)
                {
                    connection.HostReadable = false;
                }
                else if (error == SocketError.Success)
                {
                    // End of stream: the guest hears SHUTDOWN(SEND) and may still send (the host may have shut only its write side).
                    connection.HostEndOfStream = true;
                    connection.Pending |= VsockPendingPackets.Shutdown;
                }
                else
                {
                    Remove(connection, sendReset: true);
                    return PopResult.Empty;
                }

                continue;
            }

            if ((pending & VsockPendingPackets.Shutdown) != 0)
            {
                connection.Pending &= ~(VsockPendingPackets.Shutdown | VsockPendingPackets.CreditUpdate);
                WritePacket(context, queue, connection, VsockOperation.Shutdown, (uint)VsockShutdown.Send, ReadOnlySpan<byte>.Empty);
                return PopResult.Chain;
            }

            connection.Pending &= ~VsockPendingPackets.CreditUpdate;
            WritePacket(context, queue, connection, VsockOperation.CreditUpdate, 0, ReadOnlySpan<byte>.Empty);
            return PopResult.Chain;
        }

        return PopResult.Empty;
    }

    private void WritePacket(IVirtioDeviceContext context, SplitVirtqueue queue, VsockConnection connection, VsockOperation operation, uint flags, ReadOnlySpan<byte> payload)
    {
        // Every packet carries this side's credit, so the guest needs no separate CREDIT_UPDATE for what it says.
        connection.AdvertisedForwardCount = connection.ForwardCount;
        connection.Pending &= ~VsockPendingPackets.CreditUpdate;
        WritePacket(context, queue, connection.LocalPort, connection.PeerPort, operation, flags, BufferAllocation, connection.ForwardCount, payload);
    }

    private void WritePacket(IVirtioDeviceContext context, SplitVirtqueue queue, uint localPort, uint peerPort, VsockOperation operation, uint flags, uint bufferAllocation, uint forwardCount, ReadOnlySpan<byte> payload)
    {
        var header = new VsockPacketHeader
        {
            SourceCid = VsockPacketHeader.HostCid,
            DestinationCid = guestCid,
            SourcePort = localPort,
            DestinationPort = peerPort,
            Length = (uint)payload.Length,
            Type = VsockPacketHeader.StreamType,
            Operation = operation,
            Flags = flags,
            BufferAllocation = bufferAllocation,
            ForwardCount = forwardCount,
        };
        Span<byte> bytes = stackalloc byte[VsockPacketHeader.Size];
        header.Write(bytes);
        receiveChain.Write(context.Memory, 0, bytes);
        if (!payload.IsEmpty)
        {
            receiveChain.Write(context.Memory, VsockPacketHeader.Size, payload);
        }

        queue.PushUsed(receiveChain.Head, (uint)(VsockPacketHeader.Size + payload.Length));
    }

    private void Add(VsockConnection connection)
    {
        connections.Add(connection.Key, connection);
        Update(connection);
    }

    /// <summary>Closes the connection's host socket and forgets it; with <paramref name="sendReset"/> the guest is told by RST.</summary>
    private void Remove(VsockConnection connection, bool sendReset)
    {
        if (connection.Removed)
        {
            return;
        }

        connections.Remove(connection.Key);
        Forget(connection);
        if (sendReset)
        {
            QueueOrphanReset(connection.LocalPort, connection.PeerPort);
        }
    }

    private void Forget(VsockConnection connection)
    {
        connection.Removed = true;
        if (connection.Watched != IoReadiness.None)
        {
            ioThread.Unwatch(connection.Descriptor);
            connection.Watched = IoReadiness.None;
        }

        connection.Socket.Dispose();
    }

    private void ResetConnection(uint localPort, uint peerPort)
    {
        if (connections.TryGetValue(VsockConnection.KeyOf(localPort, peerPort), out var connection))
        {
            Remove(connection, sendReset: true);
        }
        else
        {
            QueueOrphanReset(localPort, peerPort);
        }
    }

    private void QueueOrphanReset(uint localPort, uint peerPort)
    {
        if (orphanCount == MaximumOrphanResets)
        {
            return;
        }

        orphanResets[(orphanStart + orphanCount) % MaximumOrphanResets] = (localPort, peerPort);
        orphanCount++;
    }

    private void Refused(string why)
    {
        RefusedPackets++;
        if (guestErrors.TryAcquire(out long heldBack))
        {
            log.Warn(LogRateLimiter.Summarize($"{name}: {why}", heldBack));
        }
    }

    /// <summary>The I/O thread saw the connection's socket ready (or hung up): flush the backlog, and note bytes to read.</summary>
    private void OnConnectionReady(VsockConnection connection)
    {
        IVirtioDeviceContext? context;
        lock (sync)
        {
            context = Context;
            if (connection.Removed || context == null)
            {
                return;
            }

            // Scheduling happens outside the lock: a transport that serves the queue at once takes its own lock first.
            if (!FlushReady(connection))
            {
                connection = null!;
            }
        }

        if (connection == null || connection.Queued)
        {
            context.ScheduleQueue(ReceiveQueue);
        }
    }

    /// <summary>Flushes the backlog and notes readability; false when that closed the connection (an RST is queued).</summary>
    private bool FlushReady(VsockConnection connection)
    {
        if (connection.BacklogCount > 0)
        {
            if (!connection.Flush())
            {
                Remove(connection, sendReset: true);
                return false;
            }

            if (!AfterHostWrite(connection))
            {
                return false;
            }
        }

        if ((connection.Watched & IoReadiness.Readable) != 0)
        {
            connection.HostReadable = true;
        }

        Update(connection);
        return true;
    }

    /// <summary>Host clients knocked on the listening socket: accept each, to read its CONNECT line.</summary>
    private void OnListenerReady()
    {
        lock (sync)
        {
            if (!listening)
            {
                return;
            }

            while (listener.Poll(0, SelectMode.SelectRead))
            {
                Socket socket;
                try
                {
                    socket = listener.Accept();
                }
                catch (SocketException)
                {
                    return;
                }

                if (clients.Count >= MaximumPendingClients)
                {
                    socket.Dispose();
                    continue;
                }

                socket.Blocking = false;
                var events = new ClientReady(this);
                var client = new VsockHostClient(socket, events);
                events.Client = client;
                clients.Add(client);
                ioThread.Watch(client.Descriptor, client.Events);
            }
        }
    }

    /// <summary>A host client sent bytes of its CONNECT line: at a newline, open the connection to the guest or hang up.</summary>
    private void OnClientReady(VsockHostClient client)
    {
        IVirtioDeviceContext? context;
        lock (sync)
        {
            context = Context;
            if (client.Removed || context == null)
            {
                return;
            }

            Span<byte> one = stackalloc byte[1];
            while (true)
            {
                int read = client.Socket.Receive(one, SocketFlags.None, out var error);
                if (read == 0 && error == SocketError.WouldBlock)
                {
                    return;
                }

                if (read == 0 || (one[0] != (byte)'\n' && !client.Append(one[0])))
                {
                    RemoveClient(client, close: true);
                    return;
                }

                if (one[0] == (byte)'\n')
                {
                    break;
                }
            }

            uint? port = VsockHostClient.ParseConnect(client.Line);
            if (port == null || connections.Count >= MaximumConnections)
            {
                RemoveClient(client, close: true);
                return;
            }

            RemoveClient(client, close: false);
            uint localPort = NextLocalPort(port.Value);
            var events = new ConnectionReady(this);
            var connection = new VsockConnection(client.Socket, localPort, port.Value, VsockConnectionState.AwaitingGuestResponse)
            {
                Events = events,
                Pending = VsockPendingPackets.Request,
            };
            events.Connection = connection;
            Add(connection);
        }

        context.ScheduleQueue(ReceiveQueue);
    }

    /// <summary>A local port no open connection to <paramref name="peerPort"/> uses (at most MaximumConnections are taken).</summary>
    private uint NextLocalPort(uint peerPort)
    {
        while (true)
        {
            uint candidate = nextLocalPort;
            nextLocalPort = nextLocalPort == uint.MaxValue ? FirstLocalPort : nextLocalPort + 1;
            if (!connections.ContainsKey(VsockConnection.KeyOf(candidate, peerPort)))
            {
                return candidate;
            }
        }
    }

    private void RemoveClient(VsockHostClient client, bool close)
    {
        clients.Remove(client);
        client.Removed = true;
        ioThread.Unwatch(client.Descriptor);
        if (close)
        {
            client.Socket.Dispose();
        }
    }

    private void DropClient(VsockHostClient client)
    {
        client.Removed = true;
        ioThread.Unwatch(client.Descriptor);
        client.Socket.Dispose();
    }

    private sealed class ListenerReady(VirtioVsockDevice owner) : IoWork
    {
        public override void Run() => owner.OnListenerReady();
    }

    private sealed class ClientReady(VirtioVsockDevice owner) : IoWork
    {
        public VsockHostClient? Client { get; set; }

        public override void Run() => owner.OnClientReady(Client!);
    }

    private sealed class ConnectionReady(VirtioVsockDevice owner) : IoWork
    {
        public VsockConnection? Connection { get; set; }

        public override void Run() => owner.OnConnectionReady(Connection!);
    }
}
