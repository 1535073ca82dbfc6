using System.Buffers.Binary;

namespace Vessel.Devices.Networking;

/// <summary>
/// Makes DHCP replies name one DNS server address: in each DHCPOFFER/DHCPACK (UDP 67 to 68 over IPv4), every address in option 6
/// (Domain Name Server, RFC 2132 §3.8) becomes the given one. passt 0.0~git20230309 (Debian bookworm) hands the guest the host's
/// own resolvers even with <c>--dns-forward</c>, while QEMU's user network promises 10.0.2.3, which that option forwards; later
/// passt releases announce the forwarding address themselves, and then this finds nothing to change.
/// </summary>
public static class DhcpDnsRewriter
{
    private const int EthernetHeaderSize = 14;
    private const ushort EtherTypeIpv4 = 0x0800;
    private const byte ProtocolUdp = 17;
    private const ushort ServerPort = 67;
    private const ushort ClientPort = 68;

    /// <summary>op, htype, hlen, hops, xid, secs, flags, ciaddr, yiaddr, siaddr, giaddr, chaddr, sname, file (RFC 2131 §2).</summary>
    private const int BootpFixedSize = 236;
    private const uint MagicCookie = 0x63825363;
    private const byte OptionPad = 0;
    private const byte OptionDomainNameServer = 6;
    private const byte OptionEnd = 255;

    /// <summary>Rewrites <paramref name="frame"/> in place if it is a DHCP reply with option 6; true when it changed.</summary>
    public static bool Rewrite(Span<byte> frame, ReadOnlySpan<byte> dnsAddress)
    {
        if (frame.Length < EthernetHeaderSize + 20 || BinaryPrimitives.ReadUInt16BigEndian(frame[12..]) != EtherTypeIpv4)
        {
            return false;
        }

        var ip = frame[EthernetHeaderSize..];
        int headerLength = (ip[0] & 0x0F) * 4;
        if ((ip[0] >> 4) != 4 || headerLength < 20 || ip.Length < headerLength + 8 || ip[9] != ProtocolUdp)
        {
            return false;
        }

        // A fragment's payload is not a whole datagram: leave it alone.
        if ((BinaryPrimitives.ReadUInt16BigEndian(ip[6..]) & 0x3FFF) != 0)
        {
            return false;
        }

        var udp = ip[headerLength..];
        if (BinaryPrimitives.ReadUInt16BigEndian(udp) != ServerPort || BinaryPrimitives.ReadUInt16BigEndian(udp[2..]) != ClientPort)
        {
            return false;
        }

        int udpLength = Math.Min(BinaryPrimitives.ReadUInt16BigEndian(udp[4..]), udp.Length);
        if (udpLength < 8 + BootpFixedSize + 4)
        {
            return false;
        }

        var dhcp = udp[8..udpLength];
        if (BinaryPrimitives.ReadUInt32BigEndian(dhcp[BootpFixedSize..]) != MagicCookie)
        {
            return false;
        }

        bool changed = false;
        int position = BootpFixedSize + 4;
        while (position < dhcp.Length)
        {
            byte code = dhcp[position];
            if (code == OptionEnd)
            {
                break;
            }

            if (code == OptionPad)
            {
                position++;
                continue;
            }

            if (position + 1 >= dhcp.Length)
            {
                break;
            }

            int length = dhcp[position + 1];
            if (position + 2 + length > dhcp.Length)
            {
                break;
            }

            if (code == OptionDomainNameServer)
            {
                for (int entry = 0; entry + 4 <= length; entry += 4)
                {
                    dnsAddress.CopyTo(dhcp[(position + 2 + entry)..]);
                }

                changed = true;
            }

            position += 2 + length;
        }

        if (changed)
        {
            // RFC 768: a zero checksum over IPv4 means "none computed", which every receiver accepts.
            BinaryPrimitives.WriteUInt16BigEndian(udp[6..], 0);
        }

        return changed;
    }
}
