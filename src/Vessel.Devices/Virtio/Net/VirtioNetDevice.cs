using System.Buffers.Binary;
using Vessel.Core.Logging;
using Vessel.Core.Snapshots;
using Vessel.Devices.Networking;
using Vessel.Devices.Virtio.Queues;

namespace Vessel.Devices.Virtio.Net;

/// <summary>
/// virtio-net (virtio 1.2 §5.1) with one receive and one transmit queue over an <see cref="INetworkBackend"/>: a MAC address,
/// link status, mergeable receive buffers, and the backend's offloads (checksum, TSO, UFO) passed through in the virtio_net_hdr.
/// Frames move through one receive and one transmit buffer owned by the device, so the frame path allocates nothing; a frame
/// the guest's buffers cannot hold, or a malformed transmit request, is dropped and counted, never trusted.
/// </summary>
public sealed class VirtioNetDevice : VirtioDevice, IStateful
{
    public const int ReceiveQueue = 0;
    public const int TransmitQueue = 1;

    /// <summary>The largest frame either direction carries: a 64 KiB TSO/GSO packet with its Ethernet and VLAN headers.</summary>
    public const int MaximumFrameSize = 65536 + 18;

    /// <summary>VIRTIO_NET_S_LINK_UP (§5.1.4).</summary>
    public const ushort LinkUp = 1;

    /// <summary>mac[6], status, max_virtqueue_pairs (§5.1.4); mtu and later fields are not offered.</summary>
    private const int ConfigurationBytes = 10;

    /// <summary>Frames delivered per run before yielding the I/O thread to other devices (the run schedules itself again).</summary>
    private const int ReceiveBudget = 64;

    /// <summary>A merged frame may use at most this many buffers; one needing more (tiny buffers) is dropped.</summary>
    private const int MaximumMergedBuffers = 64;

    private readonly INetworkBackend backend;
    private readonly byte[] configuration = new byte[ConfigurationBytes];
    private readonly byte[] receiveBuffer = new byte[NetHeader.Size + MaximumFrameSize];
    private readonly byte[] transmitBuffer = new byte[NetHeader.Size + MaximumFrameSize];
    private readonly DescriptorChain transmitChain;
    private readonly DescriptorChain receiveChain;
    private readonly DescriptorChain mergeChain;
    private readonly ushort[] mergedHeads = new ushort[MaximumMergedBuffers];
    private readonly uint[] mergedLengths = new uint[MaximumMergedBuffers];
    private readonly Func<DescriptorChain, uint> transmit;
    private readonly IMachineLog log;
    private readonly string name;

    /// <summary>Drop reports a guest can cause at will: five at once, then one a minute, with a count of the rest.</summary>
    private readonly LogRateLimiter dropReports = new(refillInterval: TimeSpan.FromSeconds(60));
    private readonly VhostNetDataPath? vhost;
    private readonly ushort[] vhostPositions = new ushort[2];
    private int pendingLength;

    /// <param name="vhost">
    /// The kernel's vhost-net over the same TAP device (vhost=on), which serves both queues once the transport offers them
    /// (<see cref="StartKernelDataPath"/>); until then, and whenever it declines, the queues are served here.
    /// </param>
    public VirtioNetDevice(INetworkBackend backend, ReadOnlySpan<byte> mac, IMachineLog log, string name = "virtio-net", ushort queueSize = 256, VhostNetDataPath? vhost = null)
    {
        this.vhost = vhost;
        if (mac.Length != 6)
        {
            throw new ArgumentException("A MAC address is 6 bytes.", nameof(mac));
        }

        this.backend = backend;
        MaximumQueueSize = queueSize;
        transmitChain = new DescriptorChain(queueSize);
        receiveChain = new DescriptorChain(queueSize);
        mergeChain = new DescriptorChain(queueSize);
        transmit = Transmit;
        this.log = log;
        this.name = name;
        mac.CopyTo(configuration);
        BinaryPrimitives.WriteUInt16LittleEndian(configuration.AsSpan(6), LinkUp);
        BinaryPrimitives.WriteUInt16LittleEndian(configuration.AsSpan(8), 1);
        backend.Start(FrameMayBeWaiting);
    }

    public override VirtioDeviceType Type => VirtioDeviceType.Network;

    public override ulong DeviceFeatures => NetFeature.Mac | NetFeature.Status | NetFeature.MergeableReceiveBuffers | backend.OffloadFeatures;

    public override int QueueCount => 2;

    public override ushort MaximumQueueSize { get; }

    public override int ConfigurationSize => ConfigurationBytes;

    /// <summary>Frames dropped: too large for the guest's buffers, malformed transmit requests, or refused by the backend.</summary>
    public long DroppedFrames { get; private set; }

    public ReadOnlySpan<byte> Mac => configuration.AsSpan(0, 6);

    public int StateVersion => 1;

    /// <summary>
    /// The MAC the guest knows and a received frame still waiting for a receive buffer (with its virtio-net header). The
    /// connection behind the backend is the host's: a restored machine gets a new one (passt restarted, the TAP reopened).
    /// </summary>
    public void SaveState(StateWriter writer)
    {
        writer.WriteRaw(Mac);
        writer.WriteBytes(receiveBuffer.AsSpan(0, pendingLength));
    }

    public void RestoreState(StateReader reader, int version)
    {
        var mac = reader.ReadRaw(6);
        if (!mac.SequenceEqual(Mac))
        {
            throw new SnapshotFormatException(
                $"{name}: the snapshot's interface had MAC {MacAddress.Format(mac)} and this one has {MacAddress.Format(Mac)}; restore with the snapshot's network configuration.");
        }

        var pending = reader.ReadBytes();
        if (pending.Length > receiveBuffer.Length || (pending.Length != 0 && pending.Length <= NetHeader.Size))
        {
            throw reader.Malformed($"a pending received frame of {pending.Length} bytes");
        }

        pending.CopyTo(receiveBuffer);
        pendingLength = pending.Length;
    }

    public override void ReadConfiguration(int offset, Span<byte> data) => configuration.AsSpan(offset, data.Length).CopyTo(data);

    /// <summary>Whether the kernel's vhost-net serves the queues now.</summary>
    public bool KernelDataPathRunning => vhost?.Running == true;

    public override void ProcessQueue(int queueIndex)
    {
        if (KernelDataPathRunning)
        {
            return;
        }

        if (queueIndex == TransmitQueue)
        {
            ServeRequests(TransmitQueue, transmitChain, transmit);
        }
        else if (queueIndex == ReceiveQueue)
        {
            Receive();
        }
    }

    public override bool StartKernelDataPath(ReadOnlySpan<int> kickEventFds, ReadOnlySpan<int> callEventFds)
    {
        var context = Context;
        if (vhost == null || context == null || vhost.Running || kickEventFds.Length != QueueCount || callEventFds.Length != QueueCount)
        {
            return false;
        }

        // A frame read from the TAP device but not yet delivered would be lost to the kernel's path: deliver it here first.
        if (pendingLength != 0)
        {
            return false;
        }

        Span<VhostNetQueue> queues = stackalloc VhostNetQueue[2];
        for (int index = 0; index < QueueCount; index++)
        {
            var queue = context.Queues[index];
            queues[index] = new VhostNetQueue(queue.Size, queue.DescriptorTable, queue.DriverArea, queue.DeviceArea, queue.NextAvailable, kickEventFds[index], callEventFds[index]);
        }

        try
        {
            vhost.Start(context.Memory, context.NegotiatedFeatures, queues);
        }
        catch (Exception exception) when (exception is InvalidOperationException or IOException)
        {
            log.Warn($"{name}: vhost-net declined the queues, so Vessel serves them: {exception.Message}");
            return false;
        }

        backend.SetReceiveInterest(false);
        log.Info($"{name}: the kernel's vhost-net serves the receive and transmit queues");
        return true;
    }

    public override void StopKernelDataPath()
    {
        if (vhost == null || !vhost.Stop(vhostPositions))
        {
            return;
        }

        var context = Context;
        if (context != null)
        {
            for (int index = 0; index < QueueCount; index++)
            {
                context.Queues[index].ResumeAt(vhostPositions[index]);
            }

            backend.SetReceiveInterest(true);
        }
    }

    protected override void OnActivated()
    {
        backend.SetOffloads(Context!.NegotiatedFeatures);
        backend.SetReceiveInterest(true);
    }

    protected override void OnReset()
    {
        vhost?.Stop(vhostPositions);
        backend.SetReceiveInterest(false);
        pendingLength = 0;
    }

    private void FrameMayBeWaiting() => Context?.ScheduleQueue(ReceiveQueue);

    private bool Mergeable => (Context!.NegotiatedFeatures & NetFeature.MergeableReceiveBuffers) != 0;

    /// <summary>
    /// Moves frames from the backend to the guest until the backend has none (then asks to hear of more) or the guest has no
    /// room (then keeps the frame and waits for the driver's next receive notify).
    /// </summary>
    private void Receive()
    {
        var context = Context;
        if (context == null)
        {
            return;
        }

        var queue = context.Queues[ReceiveQueue];
        bool dataValid = (context.NegotiatedFeatures & NetFeature.GuestChecksum) != 0 && backend.VirtioHeaderLength == 0;
        int delivered = 0;
        while (true)
        {
            if (pendingLength == 0 && !ReadFromBackend(dataValid))
            {
                backend.SetReceiveInterest(true);

                // A frame that arrived between the empty read and the re-arm has already made the descriptor readable, so
                // epoll reports it; nothing is lost.
                break;
            }

            var result = Deliver(queue);
            if (result == PopResult.Violation)
            {
                context.Fail($"receive queue: {queue.Violation}");
                return;
            }

            if (result == PopResult.Empty)
            {
                // No room: the driver's notify when it adds receive buffers runs this again.
                break;
            }

            pendingLength = 0;
            if (++delivered == ReceiveBudget)
            {
                context.ScheduleQueue(ReceiveQueue);
                break;
            }
        }

        if (delivered > 0 && queue.NeedsInterrupt())
        {
            context.NotifyUsed(ReceiveQueue);
        }
    }

    /// <summary>Reads the backend's next frame into the receive buffer behind a virtio_net_hdr; false when none waits.</summary>
    private bool ReadFromBackend(bool dataValid)
    {
        int headerLength = backend.VirtioHeaderLength;
        int headerRoom = NetHeader.Size - headerLength;
        int length = backend.Receive(receiveBuffer.AsSpan(headerRoom));
        if (length == 0)
        {
            return false;
        }

        if (headerLength == 0)
        {
            NetHeader.WriteReceive(receiveBuffer, dataValid, 1);
        }

        pendingLength = headerRoom + length;
        return true;
    }

    /// <summary>
    /// Writes the pending frame into the guest's receive buffers: one chain, or with MRG_RXBUF as many as it takes, num_buffers
    /// set in the first before any is returned. Empty when there is not room for all of it (the chains taken are put back).
    /// </summary>
    private PopResult Deliver(SplitVirtqueue queue)
    {
        var memory = Context!.Memory;
        var frame = receiveBuffer.AsSpan(0, pendingLength);
        var result = queue.TryPop(receiveChain);
        if (result != PopResult.Chain)
        {
            return result;
        }

        // §5.1.6.3.1: num_buffers is 1 unless the frame spans more.
        BinaryPrimitives.WriteUInt16LittleEndian(frame[NetHeader.NumBuffersOffset..], 1);
        int written = receiveChain.Write(memory, 0, frame);
        uint firstLength = (uint)written;
        int buffers = 1;
        if (written < frame.Length && Mergeable)
        {
            while (written < frame.Length)
            {
                if (buffers == MaximumMergedBuffers)
                {
                    queue.UndoPop(buffers);
                    return DropPending("needs more than 64 merged receive buffers");
                }

                result = queue.TryPop(mergeChain);
                if (result != PopResult.Chain)
                {
                    if (result == PopResult.Empty)
                    {
                        queue.UndoPop(buffers);
                    }

                    return result;
                }

                int piece = mergeChain.Write(memory, 0, frame[written..]);
                if (piece == 0)
                {
                    queue.UndoPop(buffers + 1);
                    return DropPending("a receive buffer has no writable bytes");
                }

                mergedHeads[buffers] = mergeChain.Head;
                mergedLengths[buffers] = (uint)piece;
                written += piece;
                buffers++;
            }

            Span<byte> count = stackalloc byte[2];
            BinaryPrimitives.WriteUInt16LittleEndian(count, (ushort)buffers);
            receiveChain.Write(memory, NetHeader.NumBuffersOffset, count);
        }
        else if (written < frame.Length)
        {
            queue.UndoPop(1);
            return DropPending($"a {frame.Length - NetHeader.Size}-byte frame does not fit a {receiveChain.WritableLength}-byte receive buffer");
        }

        queue.PushUsed(receiveChain.Head, firstLength);
        for (int index = 1; index < buffers; index++)
        {
            queue.PushUsed(mergedHeads[index], mergedLengths[index]);
        }

        return PopResult.Chain;
    }

    /// <summary>Drops the pending frame and reports it, leaving the guest's buffers untouched; delivery goes on with the next.</summary>
    private PopResult DropPending(string why)
    {
        DroppedFrames++;
        if (dropReports.TryAcquire(out long heldBack))
        {
            log.Warn(LogRateLimiter.Summarize($"{name}: dropped a received frame: {why}", heldBack));
        }

        pendingLength = 0;
        return PopResult.Chain;
    }

    /// <summary>One transmit request: a virtio_net_hdr and the frame, gathered into the transmit buffer and handed to the backend.</summary>
    private uint Transmit(DescriptorChain request)
    {
        ulong length = request.ReadableLength;
        if (length < NetHeader.Size || length > (ulong)transmitBuffer.Length)
        {
            DroppedFrames++;
            if (dropReports.TryAcquire(out long heldBack))
            {
                log.Warn(LogRateLimiter.Summarize(
                    $"{name}: dropped a transmit request of {length} bytes (a frame is {NetHeader.Size} to {transmitBuffer.Length} bytes with its header)", heldBack));
            }

            return 0;
        }

        int read = request.Read(Context!.Memory, 0, transmitBuffer.AsSpan(0, (int)length));
        if (read != (int)length)
        {
            DroppedFrames++;
            return 0;
        }

        int skip = NetHeader.Size - backend.VirtioHeaderLength;
        if (read > skip)
        {
            backend.Send(transmitBuffer.AsSpan(skip, read - skip));
        }

        return 0;
    }
}
