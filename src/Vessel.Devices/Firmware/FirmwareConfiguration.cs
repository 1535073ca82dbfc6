using System.Buffers.Binary;
using System.Text;
using Vessel.Core.Bus;

namespace Vessel.Devices.Firmware;

/// <summary>
/// QEMU's firmware configuration device, traditional I/O interface only (docs/specs/fw_cfg.rst): a 16-bit selector at
/// port 0x510 picks an item and rewinds it, and each byte read from port 0x511 returns the next byte of the item, zero past
/// its end. kvm-unit-tests reads NB_CPUS and RAM_SIZE this way. Data-port writes are ignored (as since QEMU 2.4); no DMA.
/// </summary>
public sealed class FirmwareConfiguration : IBusDevice
{
    public const ushort SelectorPort = 0x510;
    public const ushort DataPort = 0x511;
    public const int PortCount = 2;

    /// <summary>A directory entry: size (be32), select (be16), reserved (be16), a NUL-padded 56-byte name.</summary>
    private const int FileEntrySize = 64;
    private const int FileNameLength = 56;

    private readonly Lock sync = new();
    private readonly Dictionary<ushort, byte[]> items = [];
    private readonly List<(string Name, ushort Key)> files = [];
    private byte[] selected = [];
    private int position;

    public FirmwareConfiguration(ulong ramSize, int cpuCount, int maxCpus)
    {
        items[(ushort)FirmwareConfigurationKey.Signature] = "QEMU"u8.ToArray();
        items[(ushort)FirmwareConfigurationKey.Id] = LittleEndian32(1);
        var ram = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(ram, ramSize);
        items[(ushort)FirmwareConfigurationKey.RamSize] = ram;
        items[(ushort)FirmwareConfigurationKey.CpuCount] = LittleEndian16((ushort)cpuCount);
        items[(ushort)FirmwareConfigurationKey.MaxCpus] = LittleEndian16((ushort)maxCpus);
        RebuildDirectory();
        Select(0);
    }

    /// <summary>Adds a named file (e.g. "etc/e820") and lists it in the directory; returns its selector key.</summary>
    public ushort AddFile(string name, ReadOnlySpan<byte> contents)
    {
        if (Encoding.ASCII.GetByteCount(name) >= FileNameLength)
        {
            throw new ArgumentException($"fw_cfg file name '{name}' is longer than {FileNameLength - 1} bytes.", nameof(name));
        }

        lock (sync)
        {
            ushort key = (ushort)((int)FirmwareConfigurationKey.FirstFile + files.Count);
            items[key] = contents.ToArray();
            files.Add((name, key));
            RebuildDirectory();
            return key;
        }
    }

    public void Read(ulong offset, Span<byte> data)
    {
        lock (sync)
        {
            if (offset != DataPort - SelectorPort)
            {
                data.Fill(0);
                return;
            }

            for (int i = 0; i < data.Length; i++)
            {
                data[i] = position < selected.Length ? selected[position] : (byte)0;
                position = Math.Min(position + 1, int.MaxValue - 1);
            }
        }
    }

    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        if (offset != 0 || data.Length < 2)
        {
            return;
        }

        lock (sync)
        {
            Select(BinaryPrimitives.ReadUInt16LittleEndian(data));
        }
    }

    private void Select(ushort key)
    {
        // fw_cfg.rst: bit 14 selects a write, bit 15 an architecture-specific item; unknown items read as zeros.
        selected = items.TryGetValue(key, out var item) ? item : [];
        position = 0;
    }

    private void RebuildDirectory()
    {
        var directory = new byte[4 + (files.Count * FileEntrySize)];
        BinaryPrimitives.WriteUInt32BigEndian(directory, (uint)files.Count);
        for (int i = 0; i < files.Count; i++)
        {
            var entry = directory.AsSpan(4 + (i * FileEntrySize), FileEntrySize);
            BinaryPrimitives.WriteUInt32BigEndian(entry, (uint)items[files[i].Key].Length);
            BinaryPrimitives.WriteUInt16BigEndian(entry[4..], files[i].Key);
            Encoding.ASCII.GetBytes(files[i].Name, entry[8..]);
        }

        items[(ushort)FirmwareConfigurationKey.FileDirectory] = directory;
    }

    private static byte[] LittleEndian16(ushort value)
    {
        var bytes = new byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(bytes, value);
        return bytes;
    }

    private static byte[] LittleEndian32(uint value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, value);
        return bytes;
    }
}
