using Vessel.Devices.Storage.Qcow2;
using Vessel.Devices.Storage.Raw;

namespace Vessel.Devices.Storage;

/// <summary>Opens a disk image file as a block backend, with its backing chain, checking everything before anything is written.</summary>
public static class DiskImage
{
    /// <summary>Longest backing chain accepted (the image itself not counted); deeper chains are almost always a mistake and cost a file per level.</summary>
    public const int MaxBackingChainDepth = 16;

    /// <summary>
    /// Opens <paramref name="path"/>. With <paramref name="format"/> null, a file starting with the qcow2 magic is qcow2 and
    /// anything else raw; a given format is never second-guessed (a raw image whose guest wrote the qcow2 magic stays raw).
    /// Backing files open read-only, relative names resolved against the folder of the image naming them.
    /// </summary>
    /// <exception cref="DiskImageException">The file is missing, not a regular file, not permitted, locked by another process, or a corrupt or unsupported qcow2 image.</exception>
    public static IBlockBackend Open(string path, DiskImageFormat? format, bool readOnly) => Open(path, format, readOnly, "Disk image");

    /// <summary>As <see cref="Open(string, DiskImageFormat?, bool)"/>, with errors naming the file by its <paramref name="role"/> ("Backing file").</summary>
    internal static IBlockBackend Open(string path, DiskImageFormat? format, bool readOnly, string role) =>
        OpenChain(path, format, readOnly, role, new HashSet<string>(StringComparer.Ordinal), 0);

    /// <summary>The format of an open image file: qcow2 by its magic, anything else raw.</summary>
    internal static DiskImageFormat Probe(ImageFile file)
    {
        Span<byte> magic = stackalloc byte[4];
        file.Read(0, magic);
        return QcowHeader.HasMagic(magic) ? DiskImageFormat.Qcow2 : DiskImageFormat.Raw;
    }

    /// <summary>Parses a format name as QEMU spells it (header extension, command line); null for an unknown name.</summary>
    public static DiskImageFormat? ParseFormat(string name) => name switch
    {
        "raw" => DiskImageFormat.Raw,
        "qcow2" => DiskImageFormat.Qcow2,
        _ => null,
    };

    private static IBlockBackend OpenChain(string path, DiskImageFormat? format, bool readOnly, string role, HashSet<string> chain, int depth)
    {
        string identity = Identity(path);
        if (!chain.Add(identity))
        {
            throw new DiskImageException(
                $"The backing chain of '{path}' loops (it names '{identity}' twice); fix the backing file names with 'qemu-img rebase -u'.");
        }

        var file = ImageFile.Open(path, readOnly, role);
        try
        {
            if ((format ?? Probe(file)) == DiskImageFormat.Raw)
            {
                return new RawImage(file);
            }

            var header = QcowHeader.Read(file, readOnly);
            IBlockBackend? backing = null;
            if (header.BackingFile != null)
            {
                if (depth >= MaxBackingChainDepth)
                {
                    throw new DiskImageException(
                        $"The backing chain of '{path}' is deeper than {MaxBackingChainDepth} images; flatten it with 'qemu-img convert -O qcow2'.");
                }

                DiskImageFormat? backingFormat = null;
                if (header.BackingFormat != null)
                {
                    backingFormat = ParseFormat(header.BackingFormat) ?? throw new DiskImageException(
                        $"Disk image '{path}' has a backing file in format '{header.BackingFormat}', which Vessel does not support (raw and qcow2 only); convert the backing file with 'qemu-img convert'.");
                }

                string backingPath = Path.IsPathRooted(header.BackingFile)
                    ? header.BackingFile
                    : Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path)) ?? "/", header.BackingFile);
                backing = OpenChain(backingPath, backingFormat, readOnly: true, $"Backing file (of '{path}')", chain, depth + 1);
            }

            try
            {
                return new QcowImage(file, header, backing);
            }
            catch
            {
                backing?.Dispose();
                throw;
            }
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>The file's canonical path (symbolic links followed), so a chain that loops through a link is caught too.</summary>
    private static string Identity(string path)
    {
        string full = Path.GetFullPath(path);
        try
        {
            return new FileInfo(full).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? full;
        }
        catch (IOException)
        {
            return full;
        }
    }
}
