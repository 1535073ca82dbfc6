using Vessel.Devices.Storage;

namespace Vessel.Devices.Tests.Storage;

/// <summary>Whole-disk reads through a backend, to compare with a raw reference file.</summary>
internal static class ImageContents
{
    public static byte[] ReadAll(IBlockBackend image)
    {
        var contents = new byte[image.Size];
        const int chunk = 1 << 20;
        for (int offset = 0; offset < contents.Length; offset += chunk)
        {
            image.Read((ulong)offset, contents.AsSpan(offset, Math.Min(chunk, contents.Length - offset)));
        }

        return contents;
    }

    /// <summary>Asserts equal bytes, reporting the first difference by offset rather than dumping megabytes.</summary>
    public static void AssertEqual(byte[] expected, byte[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        int mismatch = expected.AsSpan().CommonPrefixLength(actual);
        Assert.True(mismatch == expected.Length, $"first difference at byte {mismatch} (0x{mismatch:x}): expected {(mismatch < expected.Length ? expected[mismatch] : 0)}, read {(mismatch < actual.Length ? actual[mismatch] : 0)}");
    }
}
