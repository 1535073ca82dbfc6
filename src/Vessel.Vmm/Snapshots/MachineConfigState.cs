using Vessel.Core.Snapshots;
using Vessel.Devices.Networking;
using Vessel.Devices.Storage;
using Vessel.Vmm.Configuration;

namespace Vessel.Vmm.Snapshots;

/// <summary>
/// The machine's configuration as a snapshot section, so a restore rebuilds the same device list (disks by path, network
/// interfaces, vsock, memory, vCPUs) without being told again. Rate limiters are not carried (nothing enforces them yet).
/// Version 2 added the vsock device (its CID and socket path); a version 1 section has none.
/// </summary>
internal static class MachineConfigState
{
    /// <summary>2 added the vsock device; version 1 sections (without it) still read.</summary>
    public const int Version = 2;

    public static void Write(StateWriter writer, MachineConfig config)
    {
        writer.WriteString(config.KernelPath);
        WriteOptional(writer, config.InitrdPath);
        writer.WriteString(config.CommandLine);
        writer.WriteUInt64(config.MemoryBytes);
        writer.WriteInt32(config.VcpuCount);
        writer.WriteInt32((int)config.Accelerator);
        WriteOptional(writer, config.Cpu);
        writer.WriteByte(config.Jit switch { null => 0, false => 1, true => 2 });
        writer.WriteBool(config.Entropy != null);
        writer.WriteInt32(config.Disks.Count);
        foreach (var disk in config.Disks)
        {
            writer.WriteString(disk.Id);
            writer.WriteString(Path.GetFullPath(disk.Path));
            writer.WriteBool(disk.ReadOnly);
            writer.WriteInt32(disk.Format is { } format ? (int)format : -1);
        }

        writer.WriteInt32(config.NetworkInterfaces.Count);
        foreach (var network in config.NetworkInterfaces)
        {
            writer.WriteString(network.Id);
            writer.WriteInt32((int)network.Backend);
            WriteOptional(writer, network.HostDeviceName);
            WriteOptional(writer, network.GuestMac);
            writer.WriteInt32(network.HostForwards.Count);
            foreach (var forward in network.HostForwards)
            {
                writer.WriteString(forward.Protocol);
                WriteOptional(writer, forward.HostAddress);
                writer.WriteInt32(forward.HostPort);
                writer.WriteInt32(forward.GuestPort);
            }
        }

        writer.WriteBool(config.Vsock != null);
        if (config.Vsock is { } vsock)
        {
            writer.WriteUInt32(vsock.GuestCid);
            writer.WriteString(Path.GetFullPath(vsock.UdsPath));
        }
    }

    /// <param name="version">The section's version (1 or <see cref="Version"/>).</param>
    public static MachineConfig Read(StateReader reader, int version = Version)
    {
        string kernel = reader.ReadString();
        string? initrd = ReadOptional(reader);
        string commandLine = reader.ReadString();
        ulong memory = reader.ReadUInt64();
        int vcpus = reader.ReadInt32();
        var accelerator = ReadEnum<AcceleratorKind>(reader, "accelerator");
        string? cpu = ReadOptional(reader);
        bool? jit = reader.ReadByte() switch
        {
            0 => null,
            1 => false,
            2 => true,
            var other => throw reader.Malformed($"the JIT setting is {other}"),
        };
        bool entropy = reader.ReadBool();
        var disks = new List<DiskConfig>();
        int diskCount = ReadCount(reader, "disks");
        for (int index = 0; index < diskCount; index++)
        {
            string id = reader.ReadString();
            string path = reader.ReadString();
            bool readOnly = reader.ReadBool();
            int format = reader.ReadInt32();
            disks.Add(new DiskConfig
            {
                Id = id,
                Path = path,
                ReadOnly = readOnly,
                Format = format < 0 ? null : ReadEnumValue<DiskImageFormat>(reader, format, "disk format"),
            });
        }

        var networks = new List<NetworkInterfaceConfig>();
        int networkCount = ReadCount(reader, "network interfaces");
        for (int index = 0; index < networkCount; index++)
        {
            string id = reader.ReadString();
            var backend = ReadEnum<NetworkBackendKind>(reader, "network backend");
            string? hostDevice = ReadOptional(reader);
            string? mac = ReadOptional(reader);
            var forwards = new List<HostForward>();
            int forwardCount = ReadCount(reader, "host forwards");
            for (int forward = 0; forward < forwardCount; forward++)
            {
                forwards.Add(new HostForward(reader.ReadString(), ReadOptional(reader), reader.ReadInt32(), reader.ReadInt32()));
            }

            networks.Add(new NetworkInterfaceConfig
            {
                Id = id,
                Backend = backend,
                HostDeviceName = hostDevice,
                GuestMac = mac,
                HostForwards = forwards,
            });
        }

        VsockConfig? vsockConfig = null;
        if (version >= 2 && reader.ReadBool())
        {
            uint cid = reader.ReadUInt32();
            string udsPath = reader.ReadString();
            if (cid < VsockConfig.MinGuestCid)
            {
                throw reader.Malformed($"the vsock guest CID is {cid}");
            }

            vsockConfig = new VsockConfig { GuestCid = cid, UdsPath = udsPath };
        }

        return new MachineConfig
        {
            KernelPath = kernel,
            InitrdPath = initrd,
            CommandLine = commandLine,
            MemoryBytes = memory,
            VcpuCount = vcpus,
            Accelerator = accelerator,
            Cpu = cpu,
            Jit = jit,
            Entropy = entropy ? new EntropyConfig() : null,
            Disks = disks,
            NetworkInterfaces = networks,
            Vsock = vsockConfig,
        };
    }

    private static void WriteOptional(StateWriter writer, string? value)
    {
        writer.WriteBool(value != null);
        if (value != null)
        {
            writer.WriteString(value);
        }
    }

    private static string? ReadOptional(StateReader reader) => reader.ReadBool() ? reader.ReadString() : null;

    private static int ReadCount(StateReader reader, string what)
    {
        int count = reader.ReadInt32();
        if (count < 0 || count > 256)
        {
            throw reader.Malformed($"the configuration lists {count} {what}");
        }

        return count;
    }

    private static T ReadEnum<T>(StateReader reader, string what)
        where T : struct, Enum => ReadEnumValue<T>(reader, reader.ReadInt32(), what);

    private static T ReadEnumValue<T>(StateReader reader, int value, string what)
        where T : struct, Enum
    {
        var result = (T)(object)value;
        if (!Enum.IsDefined(result))
        {
            throw reader.Malformed($"the {what} is {value}");
        }

        return result;
    }
}
