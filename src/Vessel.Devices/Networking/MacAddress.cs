using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Vessel.Devices.Networking;

/// <summary>Ethernet MAC addresses as the CLI and config spell them ("52:54:00:12:34:56").</summary>
public static class MacAddress
{
    /// <summary>Parses six colon-separated hex bytes; null when <paramref name="text"/> is not that.</summary>
    public static byte[]? TryParse(string text)
    {
        string[] parts = text.Split(':');
        if (parts.Length != 6)
        {
            return null;
        }

        var bytes = new byte[6];
        for (int index = 0; index < 6; index++)
        {
            if (parts[index].Length != 2 || !byte.TryParse(parts[index], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out bytes[index]))
            {
                return null;
            }
        }

        return bytes;
    }

    /// <summary>True for a group (multicast or broadcast) address, which no interface may have.</summary>
    public static bool IsMulticast(ReadOnlySpan<byte> mac) => (mac[0] & 1) != 0;

    /// <summary>
    /// A stable locally administered unicast address derived from <paramref name="seed"/> (the interface's id), so a VM keeps its
    /// MAC across runs without the user choosing one: 52:54:00 (QEMU's prefix, locally administered) and three hashed bytes.
    /// </summary>
    public static byte[] Default(string seed)
    {
        byte[] hash = SHA256.HashData(Encoding.UTF8.GetBytes(seed));
        return [0x52, 0x54, 0x00, hash[0], hash[1], hash[2]];
    }

    public static string Format(ReadOnlySpan<byte> mac) =>
        string.Join(':', mac.ToArray().Select(value => value.ToString("x2", CultureInfo.InvariantCulture)));
}
