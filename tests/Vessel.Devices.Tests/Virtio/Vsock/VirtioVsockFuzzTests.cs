using Vessel.Devices.Virtio.Vsock;

namespace Vessel.Devices.Tests.Virtio.Vsock;

/// <summary>
/// A bounded fuzz of what a guest controls in virtio-vsock: every header field, payload lengths against the buffer, and
/// operation sequences on live connections. The device must never throw, never fail the queue for a well-formed ring, keep
/// its connections within bounds, and still serve a good connection afterwards.
/// </summary>
public sealed class VirtioVsockFuzzTests
{
    private const uint HostPort = 7000;

    [Fact]
    public void Random_packets_never_throw_and_the_device_still_connects_afterwards()
    {
        using var bench = new VsockBench();
        using var listener = bench.ListenOnHostPort(HostPort);
        listener.Blocking = false;
        var random = new Random(20261204);
        var accepted = new List<System.Net.Sockets.Socket>();
        for (int round = 0; round < 3000; round++)
        {
            var operation = (VsockOperation)random.Next(0, 9);
            uint guestPort = (uint)random.Next(1, 6);
            var packet = VsockBench.Packet(operation, guestPort, random.Next(4) == 0 ? (uint)random.Next() : HostPort,
                bufferAllocation: (uint)random.Next(), forwardCount: (uint)random.Next());
            switch (random.Next(12))
            {
                case 0: packet.SourceCid = (ulong)random.NextInt64(); break;
                case 1: packet.DestinationCid = (ulong)random.Next(0, 4); break;
                case 2: packet.Type = (ushort)random.Next(0, 3); break;
                case 3: packet.Flags = (uint)random.Next(0, 8); break;
            }

            byte[]? payload = null;
            if (operation == VsockOperation.ReadWrite || random.Next(8) == 0)
            {
                payload = new byte[random.Next(0, 2048)];
                random.NextBytes(payload);
                packet.Length = random.Next(6) == 0 ? (uint)random.Next() : (uint)payload.Length;
            }

            if (random.Next(50) == 0)
            {
                bench.SendRaw((VsockBench.Scratch, (uint)random.Next(0, VsockPacketHeader.Size), false));
            }
            else
            {
                bench.Send(packet, payload);
            }

            // Host ends come and go too: accept what the device connected, write to some, close some.
            while (TryAccept(listener, out var socket))
            {
                socket.Blocking = false;
                accepted.Add(socket);
            }

            if (accepted.Count > 0 && random.Next(10) == 0)
            {
                var socket = accepted[random.Next(accepted.Count)];
                if (random.Next(2) == 0)
                {
                    socket.Send(new byte[random.Next(1, 300)], System.Net.Sockets.SocketFlags.None, out _);
                }
                else
                {
                    socket.Dispose();
                    accepted.Remove(socket);
                }
            }

            bench.Received.Clear();
            Assert.Null(bench.Failure);
            Assert.InRange(bench.Device.ConnectionCount, 0, 5);
        }

        foreach (var socket in accepted)
        {
            socket.Dispose();
        }

        bench.Send(VsockBench.Packet(VsockOperation.Request, 9999, HostPort));
        while (true)
        {
            var (header, _) = bench.NextPacket();
            if (header.DestinationPort == 9999)
            {
                Assert.Equal(VsockOperation.Response, header.Operation);
                break;
            }
        }
    }

    private static bool TryAccept(System.Net.Sockets.Socket listener, out System.Net.Sockets.Socket socket)
    {
        socket = null!;
        if (!listener.Poll(0, System.Net.Sockets.SelectMode.SelectRead))
        {
            return false;
        }

        socket = listener.Accept();
        return true;
    }
}
