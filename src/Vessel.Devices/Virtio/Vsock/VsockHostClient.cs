using System.Net.Sockets;
using Vessel.Devices.Io;

namespace Vessel.Devices.Virtio.Vsock;

/// <summary>
/// A host process connected to the device's Unix socket that has not yet finished its <c>CONNECT PORT\n</c> line
/// (Firecracker's host-initiated connection protocol). The line is read a byte at a time so nothing after it is consumed.
/// </summary>
internal sealed class VsockHostClient
{
    /// <summary>"CONNECT 4294967295" is 18 bytes; a longer line is not a connect request.</summary>
    public const int MaximumLineLength = 24;

    private readonly byte[] line = new byte[MaximumLineLength];

    public VsockHostClient(Socket socket, IoWork events)
    {
        Socket = socket;
        Descriptor = (int)socket.Handle;
        Events = events;
    }

    public Socket Socket { get; }

    public int Descriptor { get; }

    public IoWork Events { get; }

    public bool Removed { get; set; }

    public int Length { get; private set; }

    public ReadOnlySpan<byte> Line => line.AsSpan(0, Length);

    /// <summary>Adds one byte of the line; false when the line is already as long as a connect request can be.</summary>
    public bool Append(byte value)
    {
        if (Length == line.Length)
        {
            return false;
        }

        line[Length++] = value;
        return true;
    }

    /// <summary>Parses <c>CONNECT PORT</c> (without the newline): the port, or null when the line is anything else.</summary>
    public static uint? ParseConnect(ReadOnlySpan<byte> text)
    {
        ReadOnlySpan<byte> prefix = "CONNECT "u8;
        if (!text.StartsWith(prefix))
        {
            return null;
        }

        var digits = text[prefix.Length..];
        if (digits.IsEmpty || digits.Length > 10)
        {
            return null;
        }

        ulong port = 0;
        foreach (byte digit in digits)
        {
            if (digit < '0' || digit > '9')
            {
                return null;
            }

            port = (port * 10) + (ulong)(digit - '0');
        }

        return port <= uint.MaxValue ? (uint)port : null;
    }
}
