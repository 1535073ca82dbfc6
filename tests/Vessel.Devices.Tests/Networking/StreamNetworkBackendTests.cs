using System.Buffers.Binary;
using System.Net.Sockets;
using Vessel.Core.Logging;
using Vessel.Devices.Io;
using Vessel.Devices.Networking;

namespace Vessel.Devices.Tests.Networking;

/// <summary>The QEMU <c>-netdev stream</c> framing passt speaks, against a peer socket the test holds.</summary>
public sealed class StreamNetworkBackendTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private readonly DirectoryInfo folder = Directory.CreateTempSubdirectory("vessel-stream-test-");
    private readonly IoEventLoop ioThread = new(NullMachineLog.Instance, "test-io");
    private readonly Socket peer;
    private readonly StreamNetworkBackend backend;

    public StreamNetworkBackendTests()
    {
        string path = Path.Combine(folder.FullName, "s");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(1);
        var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        client.Connect(new UnixDomainSocketEndPoint(path));
        peer = listener.Accept();
        backend = new StreamNetworkBackend(client, ioThread, NullMachineLog.Instance, "test");
    }

    public void Dispose()
    {
        ioThread.Dispose();
        backend.Dispose();
        peer.Dispose();
        folder.Delete(recursive: true);
    }

    [Fact]
    public void Sent_frames_carry_a_big_endian_length_prefix()
    {
        byte[] frame = [1, 2, 3, 4, 5, 6, 7];
        backend.Send(frame);

        var received = new byte[11];
        int count = 0;
        while (count < received.Length)
        {
            count += peer.Receive(received.AsSpan(count));
        }

        Assert.Equal((uint)frame.Length, BinaryPrimitives.ReadUInt32BigEndian(received));
        Assert.Equal(frame, received[4..]);
    }

    [Fact]
    public void A_frame_split_across_writes_is_reassembled_and_the_device_hears_when_bytes_arrive()
    {
        using var arrived = new SemaphoreSlim(0);
        backend.Start(() => arrived.Release());
        backend.SetReceiveInterest(true);
        byte[] first = new byte[1500];
        new Random(1).NextBytes(first);
        byte[] second = [9, 8, 7];
        byte[] wire = [.. Prefix(first.Length), .. first, .. Prefix(second.Length), .. second];

        peer.Send(wire.AsSpan(0, 700));
        Assert.True(arrived.Wait(Timeout));
        var buffer = new byte[65536];
        Assert.Equal(0, backend.Receive(buffer));

        backend.SetReceiveInterest(true);
        peer.Send(wire.AsSpan(700));
        Assert.True(arrived.Wait(Timeout));
        int length = ReceiveWithin(buffer);
        Assert.Equal(first, buffer[..length]);
        Assert.Equal(second.Length, backend.Receive(buffer));
        Assert.Equal(second, buffer[..second.Length]);
        Assert.Equal(0, backend.Receive(buffer));
    }

    [Fact]
    public void A_closed_peer_reads_as_no_frames()
    {
        peer.Shutdown(SocketShutdown.Both);
        var buffer = new byte[2048];
        var deadline = DateTime.UtcNow + Timeout;
        while (DateTime.UtcNow < deadline && backend.Receive(buffer) == 0 && peer.Connected)
        {
            Thread.Sleep(10);
        }

        Assert.Equal(0, backend.Receive(buffer));
        backend.Send([1, 2, 3]);
    }

    private int ReceiveWithin(byte[] buffer)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (DateTime.UtcNow < deadline)
        {
            int length = backend.Receive(buffer);
            if (length > 0)
            {
                return length;
            }

            Thread.Sleep(5);
        }

        throw new TimeoutException("no frame arrived");
    }

    private static byte[] Prefix(int length)
    {
        var prefix = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(prefix, (uint)length);
        return prefix;
    }
}
