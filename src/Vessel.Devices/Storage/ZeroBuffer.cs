namespace Vessel.Devices.Storage;

/// <summary>One shared, never-written block of zeroes for formats that must write zeroes explicitly.</summary>
internal static class ZeroBuffer
{
    private static readonly byte[] Zeroes = new byte[2 << 20];

    public static ReadOnlySpan<byte> Span => Zeroes;
}
