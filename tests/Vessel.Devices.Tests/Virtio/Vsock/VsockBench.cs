using System.Net.Sockets;
using Vessel.Core.Logging;
using Vessel.Core.Memory;
using Vessel.Devices.Io;
using Vessel.Devices.Virtio;
using Vessel.Devices.Virtio.Queues;
using Vessel.Devices.Virtio.Vsock;

namespace Vessel.Devices.Tests.Virtio.Vsock;

/// <summary>
/// A virtio-vsock device with a fake guest driver: the three queues in guest memory, receive buffers kept topped up, and a
/// context that serves scheduled queues at once under one lock (the transport's role), so the real I/O thread's socket work
/// and the test's own kicks never overlap. The host side is real Unix sockets in a private folder.
/// </summary>
public sealed class VsockBench : IDisposable
{
    public const ulong GuestCid = 3;
    public const ushort QueueSize = 64;
    public const int ReceiveBufferSize = 4096;
    private const int ReceiveBuffers = 16;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private static readonly GuestAddress ReceiveArea = new(0x10_0000);
    private static readonly GuestAddress TransmitArea = new(0x20_0000);
    private static readonly GuestAddress EventArea = new(0x30_0000);

    private readonly DirectoryInfo folder = Directory.CreateTempSubdirectory("vsock-");
    private readonly object gate = new();
    private readonly VirtqueueDriver receive;
    private readonly VirtqueueDriver transmit;
    private readonly VirtqueueDriver events;
    private readonly Dictionary<uint, int> receiveSlots = [];
    private readonly Context context;
    private int transmitSlot;
    private int eventSlot;

    public VsockBench(IMachineLog? log = null)
    {
        Memory = GuestMemory.Create(8UL << 20);
        IoThread = new IoEventLoop(NullMachineLog.Instance, "vsock-test-io");
        SocketPath = Path.Combine(folder.FullName, "v.sock");
        Device = new VirtioVsockDevice(GuestCid, SocketPath, IoThread, log ?? NullMachineLog.Instance, queueSize: QueueSize);
        receive = new VirtqueueDriver(Memory, 0x1_0000, QueueSize);
        transmit = new VirtqueueDriver(Memory, 0x4_0000, QueueSize);
        events = new VirtqueueDriver(Memory, 0x7_0000, QueueSize);
        context = new Context(this);
        lock (gate)
        {
            for (int slot = 0; slot < ReceiveBuffers; slot++)
            {
                OfferReceiveBuffer(slot);
            }

            Device.Activate(context);
        }
    }

    public GuestMemory Memory { get; }

    public IoEventLoop IoThread { get; }

    public VirtioVsockDevice Device { get; }

    public string SocketPath { get; }

    public string? Failure { get; private set; }

    /// <summary>Packets the device put in the receive queue, in order, not yet taken by the test.</summary>
    public Queue<(VsockPacketHeader Header, byte[] Payload)> Received { get; } = new();

    /// <summary>A listening socket where the device connects for guest connections to host port <paramref name="port"/>.</summary>
    public Socket ListenOnHostPort(uint port)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint($"{SocketPath}_{port}"));
        socket.Listen(8);
        return socket;
    }

    /// <summary>A host client of the device's own socket (Firecracker's host-initiated side).</summary>
    public Socket ConnectHostClient()
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { ReceiveTimeout = 10_000 };
        socket.Connect(new UnixDomainSocketEndPoint(SocketPath));
        return socket;
    }

    /// <summary>The guest driver sends one packet (header and payload as separate descriptors, as Linux does) and kicks.</summary>
    public void Send(VsockPacketHeader header, byte[]? payload = null)
    {
        lock (gate)
        {
            var at = TransmitArea + (ulong)(transmitSlot++ % 16 * (VsockPacketHeader.Size + VirtioVsockDevice.MaximumPayload + 64));
            var bytes = new byte[VsockPacketHeader.Size];
            header.Write(bytes);
            Memory.WriteBytes(at, bytes);
            if (payload is { Length: > 0 })
            {
                Memory.WriteBytes(at + VsockPacketHeader.Size, payload);
                transmit.Offer((at, VsockPacketHeader.Size, false), (at + VsockPacketHeader.Size, (uint)payload.Length, false));
            }
            else
            {
                transmit.Offer((at, VsockPacketHeader.Size, false));
            }

            Device.ProcessQueue(VirtioVsockDevice.TransmitQueue);
            transmit.TakeUsed();
            Collect();
        }
    }

    /// <summary>Raw transmit chain for malformed-packet tests.</summary>
    public void SendRaw(params (GuestAddress Address, uint Length, bool Writable)[] buffers)
    {
        lock (gate)
        {
            transmit.Offer(buffers);
            Device.ProcessQueue(VirtioVsockDevice.TransmitQueue);
            transmit.TakeUsed();
            Collect();
        }
    }

    public static GuestAddress Scratch => TransmitArea + (32UL * (VsockPacketHeader.Size + VirtioVsockDevice.MaximumPayload + 64));

    public static VsockPacketHeader Packet(VsockOperation operation, uint guestPort, uint hostPort, uint length = 0, uint bufferAllocation = 256 * 1024, uint forwardCount = 0, uint flags = 0) => new()
    {
        SourceCid = GuestCid,
        DestinationCid = VsockPacketHeader.HostCid,
        SourcePort = guestPort,
        DestinationPort = hostPort,
        Length = length,
        Type = VsockPacketHeader.StreamType,
        Operation = operation,
        Flags = flags,
        BufferAllocation = bufferAllocation,
        ForwardCount = forwardCount,
    };

    /// <summary>The guest driver adds a <paramref name="length"/>-byte event buffer (Linux keeps the event queue full of 4-byte ones) and kicks.</summary>
    public void OfferEventBuffer(uint length = VirtioVsockDevice.EventSize)
    {
        lock (gate)
        {
            events.Offer((EventArea + (ulong)(eventSlot++ % 16 * 64), length, true));
            Device.ProcessQueue(VirtioVsockDevice.EventQueue);
        }
    }

    /// <summary>Events the device returned: each buffer's event id and the length the device wrote.</summary>
    public List<(uint Id, uint Length)> TakeEvents()
    {
        lock (gate)
        {
            var taken = new List<(uint Id, uint Length)>();
            foreach (var (head, length) in events.TakeUsed())
            {
                taken.Add((Memory.Read<uint>(EventArea + (ulong)(head % 16 * 64)), length));
            }

            return taken;
        }
    }

    /// <summary>Waits for the device's next packet to the guest.</summary>
    public (VsockPacketHeader Header, byte[] Payload) NextPacket()
    {
        lock (gate)
        {
            long deadline = Environment.TickCount64 + (long)Timeout.TotalMilliseconds;
            while (Received.Count == 0)
            {
                long left = deadline - Environment.TickCount64;
                if (left <= 0 || !Monitor.Wait(gate, TimeSpan.FromMilliseconds(Math.Min(left, 100))))
                {
                    Collect();
                    if (Received.Count == 0 && Environment.TickCount64 >= deadline)
                    {
                        throw new TimeoutException("the device sent the guest nothing within 10 s");
                    }
                }
            }

            return Received.Dequeue();
        }
    }

    /// <summary>Waits for the next packet that is not a credit update (which the device may send at any time).</summary>
    public (VsockPacketHeader Header, byte[] Payload) NextPacketExceptCredit()
    {
        while (true)
        {
            var packet = NextPacket();
            if (packet.Header.Operation != VsockOperation.CreditUpdate)
            {
                return packet;
            }
        }
    }

    public void Dispose()
    {
        IoThread.Dispose();
        Device.Dispose();
        Memory.Dispose();
        folder.Delete(recursive: true);
    }

    /// <summary>Reads what the device returned in the receive queue and gives each buffer back, as the driver's rx work does.</summary>
    private void Collect()
    {
        foreach (var (head, length) in receive.TakeUsed())
        {
            int slot = receiveSlots[head];
            var at = ReceiveArea + (ulong)(slot * (VsockPacketHeader.Size + ReceiveBufferSize));
            var bytes = new byte[length];
            Memory.ReadBytes(at, bytes);
            var header = VsockPacketHeader.Read(bytes);
            Received.Enqueue((header, bytes[VsockPacketHeader.Size..]));
            OfferReceiveBuffer(slot);
        }
    }

    private void OfferReceiveBuffer(int slot)
    {
        var at = ReceiveArea + (ulong)(slot * (VsockPacketHeader.Size + ReceiveBufferSize));
        ushort head = receive.Offer((at, VsockPacketHeader.Size, true), (at + VsockPacketHeader.Size, ReceiveBufferSize, true));
        receiveSlots[head] = slot;
    }

    private sealed class Context(VsockBench bench) : IVirtioDeviceContext
    {
        public GuestMemory Memory => bench.Memory;

        public IReadOnlyList<SplitVirtqueue> Queues { get; } = [bench.receive.Queue, bench.transmit.Queue, bench.events.Queue];

        public ulong NegotiatedFeatures => VirtioFeature.Version1;

        public void NotifyUsed(int queueIndex)
        {
            if (queueIndex == VirtioVsockDevice.ReceiveQueue)
            {
                bench.Collect();
                Monitor.PulseAll(bench.gate);
            }
        }

        public void NotifyConfigurationChanged()
        {
        }

        public void ScheduleQueue(int queueIndex)
        {
            lock (bench.gate)
            {
                bench.Device.ProcessQueue(queueIndex);
            }
        }

        public void Fail(string reason) => bench.Failure ??= reason;
    }
}
