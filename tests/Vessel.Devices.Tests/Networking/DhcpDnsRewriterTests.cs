using System.Buffers.Binary;
using Vessel.Devices.Networking;

namespace Vessel.Devices.Tests.Networking;

public sealed class DhcpDnsRewriterTests
{
    private static readonly byte[] Forwarder = [10, 0, 2, 3];

    [Fact]
    public void A_dhcp_reply_names_the_forwarding_address_in_every_dns_entry_and_drops_its_udp_checksum()
    {
        byte[] frame = DhcpReply(sourcePort: 67, options: [53, 1, 5, 6, 8, 192, 0, 2, 53, 198, 51, 100, 1, 3, 4, 10, 0, 2, 2, 255]);
        Assert.True(DhcpDnsRewriter.Rewrite(frame, Forwarder));

        int options = 14 + 20 + 8 + 236 + 4;
        Assert.Equal([6, 8, 10, 0, 2, 3, 10, 0, 2, 3], frame[(options + 3)..(options + 13)]);
        Assert.Equal([3, 4, 10, 0, 2, 2], frame[(options + 13)..(options + 19)]);
        Assert.Equal(0, BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(14 + 20 + 6)));
    }

    [Fact]
    public void Other_udp_traffic_and_truncated_replies_are_left_alone()
    {
        byte[] dns = DhcpReply(sourcePort: 53, options: [6, 4, 192, 0, 2, 53, 255]);
        byte[] copy = [.. dns];
        Assert.False(DhcpDnsRewriter.Rewrite(dns, Forwarder));
        Assert.Equal(copy, dns);

        byte[] reply = DhcpReply(sourcePort: 67, options: [6, 200, 192, 0, 2, 53]);
        Assert.False(DhcpDnsRewriter.Rewrite(reply, Forwarder));
        Assert.False(DhcpDnsRewriter.Rewrite(reply.AsSpan(0, 60), Forwarder));
    }

    private static byte[] DhcpReply(ushort sourcePort, byte[] options)
    {
        int udpLength = 8 + 236 + 4 + options.Length;
        var frame = new byte[14 + 20 + udpLength];
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), 0x0800);
        var ip = frame.AsSpan(14);
        ip[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)(20 + udpLength));
        ip[8] = 64;
        ip[9] = 17;
        var udp = ip[20..];
        BinaryPrimitives.WriteUInt16BigEndian(udp, sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(udp[2..], 68);
        BinaryPrimitives.WriteUInt16BigEndian(udp[4..], (ushort)udpLength);
        BinaryPrimitives.WriteUInt16BigEndian(udp[6..], 0xBEEF);
        udp[8] = 2;
        BinaryPrimitives.WriteUInt32BigEndian(udp[(8 + 236)..], 0x63825363);
        options.CopyTo(udp[(8 + 236 + 4)..]);
        return frame;
    }
}
