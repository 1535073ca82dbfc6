using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;
using Vessel.Core.Snapshots;
using Vessel.Devices.Tests.Snapshots;
using Vessel.Devices.Virtio;
using Vessel.Devices.Virtio.Vsock;

namespace Vessel.Devices.Tests.Virtio.Vsock;

public sealed class VirtioVsockDeviceTests : IDisposable
{
    private const uint GuestPort = 1234;
    private const uint HostPort = 5000;

    private readonly VsockBench bench = new();

    public void Dispose() => bench.Dispose();

    [Fact]
    public void Configuration_holds_the_guest_cid_and_the_device_has_rx_tx_and_event_queues()
    {
        var config = new byte[bench.Device.ConfigurationSize];
        bench.Device.ReadConfiguration(0, config);

        Assert.Equal(VirtioDeviceType.Socket, bench.Device.Type);
        Assert.Equal(VsockBench.GuestCid, BinaryPrimitives.ReadUInt64LittleEndian(config));
        Assert.Equal(3, bench.Device.QueueCount);
        Assert.True(File.Exists(bench.SocketPath) || Directory.Exists(Path.GetDirectoryName(bench.SocketPath)));
    }

    [Fact]
    public void A_guest_connection_to_a_host_port_reaches_the_socket_with_the_port_suffix_and_carries_data_both_ways()
    {
        using var listener = bench.ListenOnHostPort(HostPort);
        using var host = Connect(listener);

        byte[] hello = Encoding.ASCII.GetBytes("hello from the guest");
        bench.Send(VsockBench.Packet(VsockOperation.ReadWrite, GuestPort, HostPort, (uint)hello.Length), hello);
        Assert.Equal(hello, ReadExactly(host, hello.Length));

        byte[] reply = Encoding.ASCII.GetBytes("hello from the host");
        host.Send(reply);
        var (header, payload) = bench.NextPacketExceptCredit();
        Assert.Equal(VsockOperation.ReadWrite, header.Operation);
        Assert.Equal((HostPort, GuestPort), (header.SourcePort, header.DestinationPort));
        Assert.Equal((VsockPacketHeader.HostCid, VsockBench.GuestCid), (header.SourceCid, header.DestinationCid));
        Assert.Equal((uint)hello.Length, header.ForwardCount);
        Assert.Equal(reply, payload);
        Assert.Null(bench.Failure);
    }

    [Fact]
    public void A_guest_connection_to_a_port_nobody_listens_on_is_reset()
    {
        bench.Send(VsockBench.Packet(VsockOperation.Request, GuestPort, 4242));

        var (header, _) = bench.NextPacket();
        Assert.Equal(VsockOperation.Reset, header.Operation);
        Assert.Equal((4242u, GuestPort), (header.SourcePort, header.DestinationPort));
        Assert.Equal(0, bench.Device.ConnectionCount);
    }

    [Fact]
    public void A_host_connect_line_opens_a_guest_connection_and_ok_names_the_local_port_once_the_guest_accepts()
    {
        using var client = bench.ConnectHostClient();
        client.Send("CONNECT 52\n"u8);

        var (request, _) = bench.NextPacket();
        Assert.Equal(VsockOperation.Request, request.Operation);
        Assert.Equal((VirtioVsockDevice.FirstLocalPort, 52u), (request.SourcePort, request.DestinationPort));
        Assert.Equal((uint)VirtioVsockDevice.BufferAllocation, request.BufferAllocation);

        bench.Send(VsockBench.Packet(VsockOperation.Response, 52, request.SourcePort));
        Assert.Equal($"OK {VirtioVsockDevice.FirstLocalPort}\n", ReadLine(client));

        client.Send("ping"u8);
        var (data, payload) = bench.NextPacketExceptCredit();
        Assert.Equal(VsockOperation.ReadWrite, data.Operation);
        Assert.Equal("ping", Encoding.ASCII.GetString(payload));
        bench.Send(VsockBench.Packet(VsockOperation.ReadWrite, 52, request.SourcePort, 4), "pong"u8.ToArray());
        Assert.Equal("pong", Encoding.ASCII.GetString(ReadExactly(client, 4)));
    }

    [Fact]
    public void A_host_connect_the_guest_refuses_with_reset_closes_the_host_socket()
    {
        using var client = bench.ConnectHostClient();
        client.Send("CONNECT 99\n"u8);
        var (request, _) = bench.NextPacket();

        bench.Send(VsockBench.Packet(VsockOperation.Reset, 99, request.SourcePort));

        Assert.Equal(0, client.Receive(new byte[16]));
        Assert.Equal(0, bench.Device.ConnectionCount);
    }

    [Theory]
    [InlineData("connect 52\n")]
    [InlineData("CONNECT\n")]
    [InlineData("CONNECT 4294967296\n")]
    [InlineData("CONNECT 5x\n")]
    [InlineData("CONNECT 52 and a lot more text than any connect line has\n")]
    public void A_malformed_connect_line_closes_the_host_socket(string line)
    {
        using var client = bench.ConnectHostClient();
        client.Send(Encoding.ASCII.GetBytes(line));

        AssertClosed(client);
        Assert.Equal(0, bench.Device.ConnectionCount);
    }

    [Fact]
    public void Data_for_the_guest_stops_at_its_credit_and_resumes_after_its_credit_update()
    {
        using var listener = bench.ListenOnHostPort(HostPort);
        using var host = Connect(listener, bufferAllocation: 1000);
        byte[] data = Pattern(2500);

        host.Send(data);
        var received = new List<byte>();
        while (received.Count < 1000)
        {
            received.AddRange(bench.NextPacketExceptCredit().Payload);
        }

        Assert.Equal(1000, received.Count);
        bench.Send(VsockBench.Packet(VsockOperation.CreditUpdate, GuestPort, HostPort, bufferAllocation: 1000, forwardCount: 1000));
        while (received.Count < 2000)
        {
            received.AddRange(bench.NextPacketExceptCredit().Payload);
        }

        Assert.Equal(2000, received.Count);
        bench.Send(VsockBench.Packet(VsockOperation.CreditUpdate, GuestPort, HostPort, bufferAllocation: 1000, forwardCount: 2000));
        while (received.Count < data.Length)
        {
            received.AddRange(bench.NextPacketExceptCredit().Payload);
        }

        Assert.Equal(data, received.ToArray());
    }

    [Fact]
    public void Forwarding_half_the_buffer_earns_a_credit_update_and_a_credit_request_is_answered()
    {
        using var listener = bench.ListenOnHostPort(HostPort);
        using var host = Connect(listener);
        byte[] chunk = Pattern(VirtioVsockDevice.MaximumPayload);

        bench.Send(VsockBench.Packet(VsockOperation.ReadWrite, GuestPort, HostPort, (uint)chunk.Length), chunk);
        bench.Send(VsockBench.Packet(VsockOperation.ReadWrite, GuestPort, HostPort, (uint)chunk.Length), chunk);
        var (update, _) = bench.NextPacket();
        Assert.Equal(VsockOperation.CreditUpdate, update.Operation);
        Assert.Equal((uint)(2 * chunk.Length), update.ForwardCount);
        Assert.Equal(chunk, ReadExactly(host, chunk.Length));

        bench.Send(VsockBench.Packet(VsockOperation.CreditRequest, GuestPort, HostPort));
        var (answer, _) = bench.NextPacket();
        Assert.Equal(VsockOperation.CreditUpdate, answer.Operation);
        Assert.Equal((uint)VirtioVsockDevice.BufferAllocation, answer.BufferAllocation);
    }

    [Fact]
    public void Host_end_of_stream_becomes_shutdown_and_the_guest_closing_both_directions_is_answered_with_reset()
    {
        using var listener = bench.ListenOnHostPort(HostPort);
        using var host = Connect(listener);

        host.Send("last words"u8);
        host.Shutdown(SocketShutdown.Send);
        Assert.Equal("last words", Encoding.ASCII.GetString(bench.NextPacketExceptCredit().Payload));
        var (shutdown, _) = bench.NextPacketExceptCredit();
        Assert.Equal(VsockOperation.Shutdown, shutdown.Operation);
        Assert.Equal((uint)VsockShutdown.Send, shutdown.Flags);

        // The host only shut its write side: the guest can still answer.
        bench.Send(VsockBench.Packet(VsockOperation.ReadWrite, GuestPort, HostPort, 3), "bye"u8.ToArray());
        Assert.Equal("bye", Encoding.ASCII.GetString(ReadExactly(host, 3)));

        bench.Send(VsockBench.Packet(VsockOperation.Shutdown, GuestPort, HostPort, flags: (uint)VsockShutdown.Both));
        Assert.Equal(VsockOperation.Reset, bench.NextPacketExceptCredit().Header.Operation);
        Assert.Equal(0, host.Receive(new byte[4]));
        Assert.Equal(0, bench.Device.ConnectionCount);
    }

    [Fact]
    public void Guest_shutdown_of_its_sending_side_shuts_the_host_sockets_write_side()
    {
        using var listener = bench.ListenOnHostPort(HostPort);
        using var host = Connect(listener);

        bench.Send(VsockBench.Packet(VsockOperation.ReadWrite, GuestPort, HostPort, 2), "hi"u8.ToArray());
        bench.Send(VsockBench.Packet(VsockOperation.Shutdown, GuestPort, HostPort, flags: (uint)VsockShutdown.Send));

        Assert.Equal("hi", Encoding.ASCII.GetString(ReadExactly(host, 2)));
        Assert.Equal(0, host.Receive(new byte[4]));
        Assert.Equal(1, bench.Device.ConnectionCount);
    }

    [Theory]
    [InlineData("source cid")]
    [InlineData("destination cid")]
    [InlineData("type")]
    [InlineData("operation")]
    [InlineData("length past the buffer")]
    [InlineData("length over 64 KiB")]
    [InlineData("payload on a control packet")]
    [InlineData("flags")]
    [InlineData("second request")]
    [InlineData("data before the answer")]
    public void A_packet_with_a_wrong_field_is_answered_with_reset_and_ends_its_connection(string field)
    {
        using var listener = bench.ListenOnHostPort(HostPort);
        using var host = Connect(listener);
        var packet = VsockBench.Packet(VsockOperation.CreditUpdate, GuestPort, HostPort);
        byte[]? payload = null;
        switch (field)
        {
            case "source cid": packet.SourceCid = 7; break;
            case "destination cid": packet.DestinationCid = 1; break;
            case "type": packet.Type = 2; break;
            case "operation": packet.Operation = (VsockOperation)9; break;
            case "length past the buffer": packet.Operation = VsockOperation.ReadWrite; packet.Length = 100; payload = new byte[10]; break;
            case "length over 64 KiB": packet.Operation = VsockOperation.ReadWrite; packet.Length = 65537; payload = new byte[65537]; break;
            case "payload on a control packet": packet.Length = 4; payload = new byte[4]; break;
            case "flags": packet.Flags = 1; break;
            case "second request": packet.Operation = VsockOperation.Request; break;
            case "data before the answer": packet.Operation = VsockOperation.Response; break;
        }

        bench.Send(packet, payload);

        var (reset, _) = bench.NextPacketExceptCredit();
        Assert.Equal(VsockOperation.Reset, reset.Operation);
        Assert.Equal((HostPort, GuestPort), (reset.SourcePort, reset.DestinationPort));
        Assert.Equal(0, bench.Device.ConnectionCount);
        Assert.Equal(0, host.Receive(new byte[4]));
        Assert.Null(bench.Failure);
    }

    [Fact]
    public void A_transmit_buffer_shorter_than_a_header_is_dropped_and_counted()
    {
        bench.SendRaw((VsockBench.Scratch, 20, false));

        Assert.Equal(1, bench.Device.RefusedPackets);
        Assert.Empty(bench.Received);
        Assert.Null(bench.Failure);
    }

    [Fact]
    public void A_packet_for_no_connection_is_answered_with_reset_but_a_reset_is_not()
    {
        bench.Send(VsockBench.Packet(VsockOperation.Reset, GuestPort, 77));
        bench.Send(VsockBench.Packet(VsockOperation.ReadWrite, GuestPort, 77, 1), [1]);

        var (reset, _) = bench.NextPacket();
        Assert.Equal(VsockOperation.Reset, reset.Operation);
        Assert.Equal((77u, GuestPort), (reset.SourcePort, reset.DestinationPort));
        Assert.Empty(bench.Received);
    }

    [Fact]
    public void A_device_reset_closes_every_host_socket()
    {
        using var listener = bench.ListenOnHostPort(HostPort);
        using var host = Connect(listener);

        bench.Device.Reset();

        Assert.Equal(0, host.Receive(new byte[4]));
        Assert.Equal(0, bench.Device.ConnectionCount);
    }

    [Fact]
    public void A_socket_path_that_already_exists_is_refused_with_what_to_do()
    {
        var error = Assert.Throws<IOException>(() => new VirtioVsockDevice(3, bench.SocketPath, bench.IoThread, Core.Logging.NullMachineLog.Instance));

        Assert.Contains("already exists", error.Message);
        Assert.Contains("Remove it", error.Message);
    }

    [Fact]
    public void A_snapshot_holds_only_the_guest_cid_and_restores_the_same_bytes_into_a_fresh_device()
    {
        using var listener = bench.ListenOnHostPort(HostPort);
        using var host = Connect(listener);
        byte[] saved = StateRoundTrip.Save(bench.Device);
        using var restored = new VsockBench();

        StateRoundTrip.AssertSameAfterRestore(saved, restored.Device);

        StateRoundTrip.AssertTruncationRefused(saved, () => restored.Device);
        Assert.Equal(0, restored.Device.ConnectionCount);
    }

    [Fact]
    public void A_snapshot_restored_into_a_device_with_another_cid_is_refused_naming_both()
    {
        using var other = new VirtioVsockDevice(7, bench.SocketPath + "-7", bench.IoThread, Core.Logging.NullMachineLog.Instance);
        byte[] saved = StateRoundTrip.Save(other);

        var error = Assert.Throws<SnapshotFormatException>(() => StateRoundTrip.Restore(bench.Device, saved));

        Assert.Contains("CID is 7", error.Message);
        Assert.Contains($"CID {VsockBench.GuestCid}", error.Message);
    }

    [Fact]
    public void After_a_restore_the_guest_gets_a_transport_reset_event_in_its_event_buffer()
    {
        using var listener = bench.ListenOnHostPort(HostPort);
        using var host = Connect(listener);
        byte[] saved = StateRoundTrip.Save(bench.Device);
        using var restored = new VsockBench();

        StateRoundTrip.Restore(restored.Device, saved);
        Assert.True(restored.Device.TransportResetPending);
        restored.OfferEventBuffer();

        Assert.Equal([(VirtioVsockDevice.TransportResetEvent, (uint)VirtioVsockDevice.EventSize)], restored.TakeEvents());
        Assert.False(restored.Device.TransportResetPending);
        Assert.Equal(0, restored.Device.ConnectionCount);
        Assert.Null(restored.Failure);
    }

    [Fact]
    public void A_transport_reset_waits_for_an_event_buffer_and_a_too_small_one_is_returned_empty()
    {
        byte[] saved = StateRoundTrip.Save(bench.Device);
        using var restored = new VsockBench();
        StateRoundTrip.Restore(restored.Device, saved);

        restored.Device.ProcessQueue(VirtioVsockDevice.ReceiveQueue);
        Assert.True(restored.Device.TransportResetPending);
        restored.OfferEventBuffer(length: 2);
        Assert.True(restored.Device.TransportResetPending);
        restored.OfferEventBuffer();

        Assert.Equal([(0u, 0u), (VirtioVsockDevice.TransportResetEvent, (uint)VirtioVsockDevice.EventSize)], restored.TakeEvents());
        Assert.False(restored.Device.TransportResetPending);
    }

    [Fact]
    public void A_device_the_driver_had_not_started_is_restored_without_a_transport_reset()
    {
        byte[] saved = StateRoundTrip.Save(bench.Device);
        using var restored = new VsockBench();
        restored.Device.Reset();

        StateRoundTrip.Restore(restored.Device, saved);

        Assert.False(restored.Device.TransportResetPending);
    }

    [Fact]
    public void After_the_transport_reset_a_new_host_connection_reaches_the_restored_guest_and_echoes()
    {
        byte[] saved = StateRoundTrip.Save(bench.Device);
        using var restored = new VsockBench();
        StateRoundTrip.Restore(restored.Device, saved);
        restored.OfferEventBuffer();
        Assert.Single(restored.TakeEvents());

        using var client = restored.ConnectHostClient();
        client.Send("CONNECT 52\n"u8);
        var (request, _) = restored.NextPacket();
        Assert.Equal(VsockOperation.Request, request.Operation);
        restored.Send(VsockBench.Packet(VsockOperation.Response, 52, request.SourcePort));
        Assert.Equal($"OK {request.SourcePort}\n", ReadLine(client));

        client.Send("ping"u8);
        var (data, payload) = restored.NextPacketExceptCredit();
        Assert.Equal(VsockOperation.ReadWrite, data.Operation);
        restored.Send(VsockBench.Packet(VsockOperation.ReadWrite, 52, request.SourcePort, (uint)payload.Length), payload);
        Assert.Equal("ping", Encoding.ASCII.GetString(ReadExactly(client, 4)));
        Assert.Null(restored.Failure);
    }

    /// <summary>The guest connects to <paramref name="listener"/>'s port; returns the host's end once the RESPONSE came.</summary>
    private Socket Connect(Socket listener, uint bufferAllocation = 256 * 1024)
    {
        bench.Send(VsockBench.Packet(VsockOperation.Request, GuestPort, HostPort, bufferAllocation: bufferAllocation));
        var (response, _) = bench.NextPacket();
        Assert.Equal(VsockOperation.Response, response.Operation);
        Assert.Equal((HostPort, GuestPort), (response.SourcePort, response.DestinationPort));
        var host = listener.Accept();
        host.ReceiveTimeout = 10_000;
        return host;
    }

    private static byte[] ReadExactly(Socket socket, int count)
    {
        var buffer = new byte[count];
        int read = 0;
        while (read < count)
        {
            int got = socket.Receive(buffer.AsSpan(read));
            Assert.NotEqual(0, got);
            read += got;
        }

        return buffer;
    }

    /// <summary>The peer closed: end of stream, or a reset when the device closed with the line's rest unread.</summary>
    private static void AssertClosed(Socket socket)
    {
        try
        {
            Assert.Equal(0, socket.Receive(new byte[16]));
        }
        catch (SocketException exception) when (exception.SocketErrorCode == SocketError.ConnectionReset)
        {
        }
    }

    private static string ReadLine(Socket socket)
    {
        var line = new StringBuilder();
        var one = new byte[1];
        while (socket.Receive(one) == 1)
        {
            line.Append((char)one[0]);
            if (one[0] == '\n')
            {
                break;
            }
        }

        return line.ToString();
    }

    private static byte[] Pattern(int length)
    {
        var bytes = new byte[length];
        new Random(length).NextBytes(bytes);
        return bytes;
    }
}
