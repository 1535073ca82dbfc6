using System.Buffers.Binary;
using System.Security.Cryptography;
using Vessel.Core.Snapshots;

namespace Vessel.Vmm.Snapshots;

/// <summary>
/// The snapshot file's envelope: magic, format version, body length, the body (named sections), and a SHA-256 over all
/// that. A file is checked whole before any of it is used, so a truncated or corrupted snapshot is refused before a single
/// register is applied. Written to a temporary name and renamed, so a crash mid-write never leaves a half file under the
/// name asked for.
/// </summary>
public static class SnapshotFile
{
    /// <summary>Format 1: the layout docs/snapshots.md describes.</summary>
    public const int FormatVersion = 1;

    private const int MagicLength = 8;
    private const int HeaderLength = MagicLength + 4 + 8;
    private const int ChecksumLength = 32;

    /// <summary>Some snapshot bodies are large (many vCPUs, devices), none is near this: a bound before allocating.</summary>
    private const long MaximumBodyLength = 1L << 30;

    public static ReadOnlySpan<byte> Magic => "VESSELSN"u8;

    public static void Write(string path, ReadOnlySpan<byte> body)
    {
        var header = new byte[HeaderLength];
        Magic.CopyTo(header);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(MagicLength), FormatVersion);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(MagicLength + 4), body.Length);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(header);
        hash.AppendData(body);
        byte[] checksum = hash.GetHashAndReset();

        string temporary = path + ".partial";
        try
        {
            using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                stream.Write(header);
                stream.Write(body);
                stream.Write(checksum);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, path, overwrite: true);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            TryDelete(temporary);
            throw new SnapshotException($"The snapshot file {path} cannot be written: {exception.Message}", exception);
        }
    }

    /// <summary>Reads and checks the whole file; returns a reader over its body.</summary>
    public static StateReader Read(string path)
    {
        byte[] file;
        try
        {
            long length = new FileInfo(path).Length;
            if (length > MaximumBodyLength + HeaderLength + ChecksumLength)
            {
                throw Invalid(path, $"it is {length} bytes, larger than any snapshot this Vessel writes");
            }

            file = File.ReadAllBytes(path);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            throw new SnapshotException($"The snapshot file {path} cannot be read: {exception.Message}", exception);
        }

        if (file.Length < HeaderLength + ChecksumLength || !file.AsSpan(0, MagicLength).SequenceEqual(Magic))
        {
            throw Invalid(path, "it does not start with a Vessel snapshot header");
        }

        int version = BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(MagicLength));
        if (version != FormatVersion)
        {
            throw Invalid(path, $"it is in snapshot format {version}; this Vessel reads format {FormatVersion}");
        }

        long bodyLength = BinaryPrimitives.ReadInt64LittleEndian(file.AsSpan(MagicLength + 4));
        if (bodyLength != file.Length - HeaderLength - ChecksumLength)
        {
            throw Invalid(path, $"its header claims {bodyLength} bytes of state where the file holds {file.Length - HeaderLength - ChecksumLength} (truncated?)");
        }

        byte[] checksum = SHA256.HashData(file.AsSpan(0, file.Length - ChecksumLength));
        if (!CryptographicOperations.FixedTimeEquals(checksum, file.AsSpan(file.Length - ChecksumLength)))
        {
            throw Invalid(path, "its checksum does not match its contents (corrupted)");
        }

        return new StateReader(file.AsMemory(HeaderLength, (int)bodyLength), $"snapshot {path}");
    }

    private static SnapshotFormatException Invalid(string path, string why) =>
        new($"The snapshot file {path} cannot be restored: {why}. Take the snapshot again.");

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            // Best effort: the partial file has a name no restore reads.
        }
    }
}
