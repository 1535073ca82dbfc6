using System.Diagnostics;
using Vessel.Vmm.Configuration;

namespace Vessel.Vmm.Images;

/// <summary>
/// The Debian guest images <c>scripts/guest-images.sh</c> builds and caches: the cloud kernel as a bzImage and as an
/// uncompressed vmlinux, the busybox initramfs, and the ext4 root file system it hands over to when the command line says
/// <c>root=/dev/vda</c>. Found under <c>$XDG_CACHE_HOME/vessel/debian-cloud</c> (by default
/// <c>~/.cache/vessel/debian-cloud</c>), described by the <c>images.env</c> the script writes last.
/// </summary>
public sealed record GuestImages(string Directory, string KernelVersion, string KernelPackage, string BusyboxVersion)
{
    public const string ScriptRelativePath = "scripts/guest-images.sh";

    /// <summary>
    /// The line the guest prints once userspace runs, before the shell starts: the initramfs's /init without a root disk,
    /// the root file system's rcS (which adds <c>root /dev/vda</c>) with one.
    /// </summary>
    public const string UserspaceMarker = "vessel-guest: userspace up";

    /// <summary>The kernel argument that makes the initramfs mount the first virtio disk and switch to it.</summary>
    public const string RootOnFirstDisk = "root=/dev/vda";

    /// <summary>
    /// The kernel argument that makes the guest's init bring eth0 up by DHCP (udhcpc and its default.script: address, MTU,
    /// default route, resolv.conf) before the shell starts, printing <see cref="DhcpMarker"/> and the address it got.
    /// </summary>
    public const string DhcpOnFirstInterface = "ip=dhcp";

    /// <summary>How the line the init prints after a DHCP lease on eth0 starts (then the address, prefix and gateway).</summary>
    public const string DhcpMarker = "vessel-guest: eth0 ";

    /// <summary>
    /// What the cache holds, as <c>scripts/guest-images.sh</c> counts it (images.env's REVISION; 0 before it was written):
    /// 2 added the virtio-vsock modules, 3 DHCP at boot (<see cref="DhcpOnFirstInterface"/>).
    /// </summary>
    public int Revision { get; init; }

    /// <summary>The stock kernel, as Debian ships it (a bzImage that decompresses itself).</summary>
    public string BzImagePath => Path.Combine(Directory, "vmlinuz");

    /// <summary>The same kernel already decompressed (ELF64); it starts without the bzImage's decompression step.</summary>
    public string VmlinuxPath => Path.Combine(Directory, "vmlinux");

    public string InitramfsPath => Path.Combine(Directory, "initramfs.cpio.gz");

    /// <summary>
    /// The pristine root file system: a sparse raw ext4 image with busybox, /etc and the virtio modules. Boot it through a
    /// copy-on-write overlay (<see cref="DemoDisk"/>) so it stays pristine for every later overlay.
    /// </summary>
    public string RootfsPath => Path.Combine(Directory, "rootfs.ext4");

    /// <summary><c>$XDG_CACHE_HOME</c>, or <c>~/.cache</c> when it is unset (the XDG base directory rules).</summary>
    public static string CacheHome
    {
        get
        {
            string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            return string.IsNullOrEmpty(xdg)
                ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache")
                : xdg;
        }
    }

    /// <summary>The cache directory the script uses.</summary>
    public static string CacheDirectory => Path.Combine(CacheHome, "vessel", "debian-cloud");

    /// <summary>The cached images, or null with the reason when the cache is missing or incomplete.</summary>
    public static GuestImages? TryLoad(out string reason)
    {
        string directory = CacheDirectory;
        string manifest = Path.Combine(directory, "images.env");
        if (!File.Exists(manifest))
        {
            reason = $"no guest images in {directory}: run {ScriptRelativePath} (as root on Debian) to fetch them";
            return null;
        }

        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string line in File.ReadAllLines(manifest))
        {
            int equals = line.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0)
            {
                values[line[..equals]] = line[(equals + 1)..];
            }
        }

        var images = new GuestImages(
            directory,
            values.GetValueOrDefault("KERNEL_VERSION", "unknown"),
            values.GetValueOrDefault("KERNEL_PACKAGE", "unknown"),
            values.GetValueOrDefault("BUSYBOX_VERSION", "unknown"))
        {
            Revision = int.TryParse(values.GetValueOrDefault("REVISION"), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int revision) ? revision : 0,
        };
        foreach (string file in new[] { images.BzImagePath, images.VmlinuxPath, images.InitramfsPath, images.RootfsPath })
        {
            if (!File.Exists(file))
            {
                // An older script's cache has no rootfs.ext4; the script upgrades it in place without downloading.
                reason = $"the guest image cache in {directory} lacks {Path.GetFileName(file)}: run {ScriptRelativePath} to complete it";
                return null;
            }
        }

        reason = string.Empty;
        return images;
    }

    /// <summary>
    /// Returns the cached images, running <c>scripts/guest-images.sh</c> first when they are missing. The script is looked
    /// for above <paramref name="searchFrom"/> (a source checkout); its progress goes to this process's stderr.
    /// </summary>
    public static GuestImages Ensure(string searchFrom)
    {
        var cached = TryLoad(out _);
        if (cached != null)
        {
            return cached;
        }

        string script = FindScript(searchFrom)
            ?? throw new ConfigurationException(
                $"The guest images are not cached in {CacheDirectory}, and {ScriptRelativePath} was not found above {searchFrom} to fetch them. "
                + "Run it from a Vessel source checkout.");
        var start = new ProcessStartInfo("bash") { UseShellExecute = false, RedirectStandardOutput = true };
        start.ArgumentList.Add(script);
        using var process = Process.Start(start)
            ?? throw new ConfigurationException($"Could not start bash to run {script}.");
        process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new ConfigurationException($"{script} failed (exit status {process.ExitCode}); its messages above say why.");
        }

        return TryLoad(out string reason) ?? throw new ConfigurationException($"{script} finished, but {reason}.");
    }

    /// <summary>Walks up from <paramref name="directory"/> to the first folder that holds <see cref="ScriptRelativePath"/>.</summary>
    public static string? FindScript(string directory)
    {
        for (var current = new DirectoryInfo(directory); current != null; current = current.Parent)
        {
            string candidate = Path.Combine(current.FullName, ScriptRelativePath);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}
