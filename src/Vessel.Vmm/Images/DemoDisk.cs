using Vessel.Devices.Storage;
using Vessel.Devices.Storage.Qcow2;
using Vessel.Vmm.Configuration;

namespace Vessel.Vmm.Images;

/// <summary>
/// The demo's root disk: a qcow2 overlay whose backing file is the cached <c>rootfs.ext4</c> (raw), made on first use with
/// Vessel's own qcow2 writer and reused after, so what the user writes survives a reboot of the VM and later demos while
/// the cached base stays pristine for the tests and for every fresh start.
/// </summary>
public static class DemoDisk
{
    /// <summary>The disk's id (Firecracker's <c>drive_id</c>), which the guest reads as the virtio-blk serial.</summary>
    public const string DiskId = "demo-root";

    public const string ImageName = "root.qcow2";

    /// <summary>
    /// Records which base the overlay was made over. An overlay holds only the clusters the guest changed, so over a rebuilt
    /// base (another kernel's modules, another file layout) it would be a corrupt file system: that starts a new overlay.
    /// </summary>
    private const string BaseStampName = "root.base";

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
                CreateOverlay(images.RootfsPath, image);
                File.WriteAllText(stampPath, stamp);
                report($"made the demo's disk {image}, a qcow2 overlay over {images.RootfsPath} (what you write survives reboots; --fresh starts over)");
            }
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or DiskImageException)
        {
            throw new ConfigurationException(
                $"Cannot prepare the demo's disk {image}: {exception.Message} Check that {directory} is writable, or pass --no-disk.");
        }

        return new DiskConfig { Id = DiskId, Path = image, Format = DiskImageFormat.Qcow2 };
    }

    /// <summary>The base's size and modification time: guest-images.sh writes a new file whenever it rebuilds the image.</summary>
    private static string BaseStamp(string path)
    {
        var info = new FileInfo(path);
        return FormattableString.Invariant($"{info.Length} {info.LastWriteTimeUtc.Ticks}");
    }

    /// <summary>Makes a qcow2 overlay of the base's size over <paramref name="basePath"/>, named by its absolute path.</summary>
    /// <remarks>Made under a temporary name and renamed, so an interrupted start never leaves a half-written overlay.</remarks>
    private static void CreateOverlay(string basePath, string overlay)
    {
        string partial = overlay + ".partial";
        File.Delete(partial);
        QcowImage.Create(partial, 0, Path.GetFullPath(basePath), DiskImageFormat.Raw);
        File.Move(partial, overlay, overwrite: true);
    }
}
