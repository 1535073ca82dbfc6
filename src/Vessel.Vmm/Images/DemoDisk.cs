using Vessel.Devices.Storage;
using Vessel.Vmm.Configuration;

namespace Vessel.Vmm.Images;

/// <summary>
/// The demo's root disk: a private, writable view of the cached <c>rootfs.ext4</c>, made on first use and reused after,
/// so what the user writes survives a reboot of the VM and later demos while the cached base stays pristine for the tests
/// and for every fresh start.
/// </summary>
/// <remarks>
/// The view is a sparse raw copy of the base (about 20 MiB of its 256 MiB hold data). A qcow2 overlay made with Vessel's
/// own writer replaces it once that writer is in main; the rest of the demo does not change.
/// </remarks>
public static class DemoDisk
{
    /// <summary>The disk's id (Firecracker's <c>drive_id</c>), which the guest reads as the virtio-blk serial.</summary>
    public const string DiskId = "demo-root";

    public const string ImageName = "root.raw";

    /// <summary>Records which base the image was made from, so a rebuilt cache (another kernel's modules) starts a new disk.</summary>
    private const string BaseStampName = "root.base";

    /// <summary>Runs of zeroes this long are left as holes in the copy.</summary>
    private const int HoleGranularity = 64 << 10;

    /// <summary><c>$XDG_CACHE_HOME/vessel/demo</c> (by default <c>~/.cache/vessel/demo</c>).</summary>
    public static string DefaultDirectory => Path.Combine(GuestImages.CacheHome, "vessel", "demo");

    /// <summary>
    /// Returns the demo's root disk in <paramref name="directory"/>, making it from <paramref name="images"/>' root file system
    /// when it is missing, when <paramref name="fresh"/> asks for a new one, or when the base changed since it was made.
    /// <paramref name="report"/> hears one sentence for each of those.
    /// </summary>
    /// <exception cref="ConfigurationException">The folder or the image cannot be written.</exception>
    public static DiskConfig Prepare(GuestImages images, string directory, bool fresh, Action<string> report)
    {
        string image = Path.Combine(directory, ImageName);
        string stampPath = Path.Combine(directory, BaseStampName);
        try
        {
            Directory.CreateDirectory(directory);
            string stamp = BaseStamp(images.RootfsPath);
            if (File.Exists(image))
            {
                if (fresh)
                {
                    File.Delete(image);
                    report($"discarded the demo's disk {image}; starting again from the pristine root file system");
                }
                else if (!File.Exists(stampPath) || File.ReadAllText(stampPath) != stamp)
                {
                    string kept = image + ".old";
                    File.Move(image, kept, overwrite: true);
                    report($"the cached root file system changed since {image} was made; the old disk is kept as {kept}");
                }
            }

            if (!File.Exists(image))
            {
                CopySparse(images.RootfsPath, image);
                File.WriteAllText(stampPath, stamp);
                report($"made the demo's disk {image} from {images.RootfsPath} (what you write on it survives reboots; --fresh starts over)");
            }
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            throw new ConfigurationException(
                $"Cannot prepare the demo's disk {image}: {exception.Message} Check that {directory} is writable, or pass --no-disk.");
        }

        return new DiskConfig { Id = DiskId, Path = image, Format = DiskImageFormat.Raw };
    }

    /// <summary>The base's size and modification time: guest-images.sh writes a new file whenever it rebuilds the image.</summary>
    private static string BaseStamp(string path)
    {
        var info = new FileInfo(path);
        return FormattableString.Invariant($"{info.Length} {info.LastWriteTimeUtc.Ticks}");
    }

    /// <summary>Copies <paramref name="from"/> to <paramref name="to"/>, leaving holes where the source reads as zeroes.</summary>
    /// <remarks>Written to a temporary name and renamed, so an interrupted copy never looks like a finished disk.</remarks>
    private static void CopySparse(string from, string to)
    {
        string partial = to + ".partial";
        using (var source = File.OpenHandle(from, FileMode.Open, FileAccess.Read))
        using (var destination = File.OpenHandle(partial, FileMode.Create, FileAccess.Write))
        {
            long length = RandomAccess.GetLength(source);
            byte[] buffer = new byte[HoleGranularity * 16];
            long offset = 0;
            while (offset < length)
            {
                int read = RandomAccess.Read(source, buffer, offset);
                if (read == 0)
                {
                    break;
                }

                for (int start = 0; start < read; start += HoleGranularity)
                {
                    var block = buffer.AsSpan(start, Math.Min(HoleGranularity, read - start));
                    if (block.ContainsAnyExcept((byte)0))
                    {
                        RandomAccess.Write(destination, block, offset + start);
                    }
                }

                offset += read;
            }

            RandomAccess.SetLength(destination, length);
            RandomAccess.FlushToDisk(destination);
        }

        File.Move(partial, to, overwrite: true);
    }
}
