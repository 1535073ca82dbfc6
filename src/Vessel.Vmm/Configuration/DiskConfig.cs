using Vessel.Devices.Storage;

namespace Vessel.Vmm.Configuration;

/// <summary>
/// One virtio-blk disk, shaped like Firecracker's drive resource (<c>drive_id</c>, <c>path_on_host</c>, <c>is_read_only</c>).
/// Disks appear to the guest in the order given: vda, vdb, ...
/// </summary>
public sealed record DiskConfig
{
    /// <summary>The drive's name (Firecracker's <c>drive_id</c>); also the virtio-blk serial the guest reads with GET_ID (first 20 bytes).</summary>
    public required string Id { get; init; }

    /// <summary>The image file on the host.</summary>
    public required string Path { get; init; }

    public bool ReadOnly { get; init; }

    /// <summary>The image format; null probes the file (qcow2 by its magic, anything else raw).</summary>
    public DiskImageFormat? Format { get; init; }

    /// <summary>
    /// Parses the CLI's <c>path=FILE[,readonly=on|off][,format=raw|qcow2][,id=NAME]</c> (QEMU's -drive spelling); a bare FILE is
    /// taken as the path. <paramref name="position"/> numbers the disk for its default id (disk0, disk1, ...).
    /// </summary>
    public static DiskConfig Parse(string text, int position, string option = "--disk")
    {
        string? path = null;
        string id = $"disk{position}";
        bool readOnly = false;
        DiskImageFormat? format = null;
        foreach (string part in text.Split(','))
        {
            int equals = part.IndexOf('=');
            if (equals < 0)
            {
                if (path != null || part.Length == 0)
                {
                    throw ConfigurationException.InvalidValue($"{option} '{text}': '{part}' is not KEY=VALUE. Write path=FILE[,readonly=on][,format=raw|qcow2][,id=NAME].");
                }

                path = part;
                continue;
            }

            string key = part[..equals];
            string value = part[(equals + 1)..];
            switch (key)
            {
                case "path" or "file":
                    path = value;
                    break;
                case "id":
                    id = value;
                    break;
                case "readonly":
                    readOnly = value switch
                    {
                        "on" or "true" or "yes" => true,
                        "off" or "false" or "no" => false,
                        _ => throw ConfigurationException.InvalidValue($"{option} '{text}': readonly takes on or off, not '{value}'."),
                    };
                    break;
                case "format":
                    format = Devices.Storage.DiskImage.ParseFormat(value)
                        ?? throw ConfigurationException.InvalidValue($"{option} '{text}': format '{value}' is not raw or qcow2.");
                    break;
                default:
                    throw ConfigurationException.InvalidValue($"{option} '{text}': unknown key '{key}'. Keys: path, readonly, format, id.");
            }
        }

        if (string.IsNullOrEmpty(path))
        {
            throw ConfigurationException.InvalidValue($"{option} '{text}': no path. Write path=FILE.");
        }

        return new DiskConfig { Id = id, Path = path, ReadOnly = readOnly, Format = format };
    }
}
