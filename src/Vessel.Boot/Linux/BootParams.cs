using System.Buffers.Binary;
using Vessel.Boot.Layout;
using Vessel.Core.Memory;

namespace Vessel.Boot.Linux;

/// <summary>
/// struct boot_params, the "zero page" (arch/x86/include/uapi/asm/bootparam.h, Documentation/arch/x86/zero-page.rst): built in a
/// zeroed 4 KiB buffer field by field, then written to guest memory once. Only the fields Vessel sets have accessors.
/// </summary>
public sealed class BootParams
{
    public const int Size = 4096;

    /// <summary>E820_MAX_ENTRIES_ZEROPAGE: the zero page holds at most 128 e820 entries.</summary>
    public const int MaxE820Entries = 128;

    /// <summary>acpi_rsdp_addr (8 bytes).</summary>
    public const int AcpiRsdpAddressOffset = 0x070;

    /// <summary>ext_ramdisk_image (4 bytes): ramdisk_image bits 63:32.</summary>
    public const int ExtRamdiskImageOffset = 0x0C0;

    /// <summary>ext_ramdisk_size (4 bytes): ramdisk_size bits 63:32.</summary>
    public const int ExtRamdiskSizeOffset = 0x0C4;

    /// <summary>ext_cmd_line_ptr (4 bytes): cmd_line_ptr bits 63:32.</summary>
    public const int ExtCommandLinePointerOffset = 0x0C8;

    /// <summary>e820_entries (1 byte).</summary>
    public const int E820EntriesOffset = 0x1E8;

    /// <summary>e820_table: up to 128 struct boot_e820_entry of 20 bytes.</summary>
    public const int E820TableOffset = 0x2D0;

    private const int UpperHalfShift = 32;

    private readonly byte[] page = new byte[Size];
    private int e820Count;

    public ReadOnlySpan<byte> Bytes => page;

    public byte TypeOfLoader
    {
        set => page[SetupHeaderField.TypeOfLoader] = value;
    }

    public LoadFlags LoadFlags
    {
        get => (LoadFlags)page[SetupHeaderField.LoadFlags];
        set => page[SetupHeaderField.LoadFlags] = (byte)value;
    }

    public ushort BootFlag
    {
        set => BinaryPrimitives.WriteUInt16LittleEndian(page.AsSpan(SetupHeaderField.BootFlag), value);
    }

    public uint Header
    {
        set => BinaryPrimitives.WriteUInt32LittleEndian(page.AsSpan(SetupHeaderField.Header), value);
    }

    public uint KernelAlignment
    {
        set => BinaryPrimitives.WriteUInt32LittleEndian(page.AsSpan(SetupHeaderField.KernelAlignment), value);
    }

    public uint CommandLineSize
    {
        set => BinaryPrimitives.WriteUInt32LittleEndian(page.AsSpan(SetupHeaderField.CommandLineSize), value);
    }

    /// <summary>cmd_line_ptr and ext_cmd_line_ptr.</summary>
    public ulong CommandLinePointer
    {
        set => WriteSplit(SetupHeaderField.CommandLinePointer, ExtCommandLinePointerOffset, value);
    }

    /// <summary>ramdisk_image and ext_ramdisk_image.</summary>
    public ulong RamdiskImage
    {
        set => WriteSplit(SetupHeaderField.RamdiskImage, ExtRamdiskImageOffset, value);
    }

    /// <summary>ramdisk_size and ext_ramdisk_size.</summary>
    public ulong RamdiskSize
    {
        set => WriteSplit(SetupHeaderField.RamdiskSize, ExtRamdiskSizeOffset, value);
    }

    public ulong AcpiRsdpAddress
    {
        set => BinaryPrimitives.WriteUInt64LittleEndian(page.AsSpan(AcpiRsdpAddressOffset), value);
    }

    public int E820Count => e820Count;

    /// <summary>Copies a kernel's setup header into hdr (boot.rst: "the setup header ... should be loaded into struct boot_params and examined").</summary>
    public void CopySetupHeader(ReadOnlySpan<byte> header) => header.CopyTo(page.AsSpan(SetupHeaderField.Start));

    public void AddE820Entry(E820Entry entry)
    {
        if (e820Count == MaxE820Entries)
        {
            throw new BootImageException($"The memory map has more than {MaxE820Entries} entries, the most boot_params.e820_table holds; reserve fewer ranges.");
        }

        var slot = page.AsSpan(E820TableOffset + (e820Count * E820Entry.EncodedSize), E820Entry.EncodedSize);
        BinaryPrimitives.WriteUInt64LittleEndian(slot, entry.Address);
        BinaryPrimitives.WriteUInt64LittleEndian(slot[sizeof(ulong)..], entry.Size);
        BinaryPrimitives.WriteUInt32LittleEndian(slot[(2 * sizeof(ulong))..], (uint)entry.Type);
        e820Count++;
        page[E820EntriesOffset] = (byte)e820Count;
    }

    public void WriteTo(GuestMemory memory, ulong address) => GuestRam.Write(memory, address, page, "The Linux zero page (boot_params)");

    private void WriteSplit(int lowOffset, int highOffset, ulong value)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(page.AsSpan(lowOffset), (uint)value);
        BinaryPrimitives.WriteUInt32LittleEndian(page.AsSpan(highOffset), (uint)(value >> UpperHalfShift));
    }
}
