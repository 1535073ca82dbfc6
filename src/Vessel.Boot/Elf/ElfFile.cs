using System.Buffers.Binary;

namespace Vessel.Boot.Elf;

/// <summary>
/// Parses and validates the ELF header and program headers of an x86 executable (System V ABI, "ELF Header" and "Program Header";
/// Elf32 for i386, Elf64 for x86-64). Every offset and size is checked against the file before it is read.
/// </summary>
public sealed class ElfFile
{
    /// <summary>e_type ET_EXEC: an executable with fixed load addresses.</summary>
    public const ushort ExecutableType = 2;

    /// <summary>e_type ET_DYN: position-independent.</summary>
    public const ushort SharedObjectType = 3;

    /// <summary>The \x7fELF magic in e_ident[0..3], read little-endian.</summary>
    public const uint Magic = 0x464C_457F;

    private const int IdentClassOffset = 4;
    private const int IdentDataOffset = 5;
    private const int IdentVersionOffset = 6;
    private const byte LittleEndianData = 1;
    private const byte CurrentVersion = 1;
    private const int TypeOffset = 16;
    private const int MachineOffset = 18;

    private const int Elf32HeaderSize = 52;
    private const int Elf32EntryOffset = 24;
    private const int Elf32ProgramHeaderOffsetOffset = 28;
    private const int Elf32ProgramHeaderEntrySizeOffset = 42;
    private const int Elf32ProgramHeaderCountOffset = 44;
    private const int Elf32ProgramHeaderSize = 32;

    private const int Elf64HeaderSize = 64;
    private const int Elf64EntryOffset = 24;
    private const int Elf64ProgramHeaderOffsetOffset = 32;
    private const int Elf64ProgramHeaderEntrySizeOffset = 54;
    private const int Elf64ProgramHeaderCountOffset = 56;
    private const int Elf64ProgramHeaderSize = 56;

    private const int Elf64OffsetField = 8;
    private const int Elf64VirtualAddressField = 16;
    private const int Elf64PhysicalAddressField = 24;
    private const int Elf64FileSizeField = 32;
    private const int Elf64MemorySizeField = 40;

    private const int Elf32OffsetField = 4;
    private const int Elf32VirtualAddressField = 8;
    private const int Elf32PhysicalAddressField = 12;
    private const int Elf32FileSizeField = 16;
    private const int Elf32MemorySizeField = 20;

    /// <summary>PN_XNUM: the real count is in section header 0, which no kernel we boot uses.</summary>
    private const ushort ExtendedProgramHeaderCount = 0xFFFF;

    private ElfFile(ElfHeader header, IReadOnlyList<ElfProgramHeader> programHeaders)
    {
        Header = header;
        ProgramHeaders = programHeaders;
    }

    public ElfHeader Header { get; }

    public IReadOnlyList<ElfProgramHeader> ProgramHeaders { get; }

    public static bool HasMagic(ReadOnlySpan<byte> image) =>
        image.Length >= sizeof(uint) && BinaryPrimitives.ReadUInt32LittleEndian(image) == Magic;

    public static ElfFile Parse(ReadOnlySpan<byte> image)
    {
        if (!HasMagic(image))
        {
            throw new BootImageException("Not an ELF file: the first four bytes are not \\x7fELF.");
        }

        if (image.Length <= IdentVersionOffset)
        {
            Truncated(image, IdentVersionOffset + 1, "e_ident");
        }

        var elfClass = (ElfClass)image[IdentClassOffset];
        if (elfClass is not (ElfClass.Elf32 or ElfClass.Elf64))
        {
            throw new BootImageException($"ELF e_ident[EI_CLASS] at offset 0x4 is {image[IdentClassOffset]}, neither ELFCLASS32 (1) nor ELFCLASS64 (2); the file is corrupt.");
        }

        if (image[IdentDataOffset] != LittleEndianData)
        {
            throw new BootImageException($"ELF e_ident[EI_DATA] at offset 0x5 is {image[IdentDataOffset]}, not ELFDATA2LSB (1): x86 kernels are little-endian, so this was built for another architecture.");
        }

        if (image[IdentVersionOffset] != CurrentVersion)
        {
            throw new BootImageException($"ELF e_ident[EI_VERSION] at offset 0x6 is {image[IdentVersionOffset]}, not EV_CURRENT (1); the file is corrupt.");
        }

        bool is64 = elfClass == ElfClass.Elf64;
        int headerSize = is64 ? Elf64HeaderSize : Elf32HeaderSize;
        if (image.Length < headerSize)
        {
            Truncated(image, headerSize, is64 ? "the Elf64_Ehdr" : "the Elf32_Ehdr");
        }

        ushort type = BinaryPrimitives.ReadUInt16LittleEndian(image[TypeOffset..]);
        var machine = (ElfMachine)BinaryPrimitives.ReadUInt16LittleEndian(image[MachineOffset..]);
        var expectedMachine = is64 ? ElfMachine.X86_64 : ElfMachine.I386;
        if (machine != expectedMachine)
        {
            throw new BootImageException(
                $"ELF e_machine at offset 0x12 is {(ushort)machine} ({Describe(machine)}), but an {(is64 ? "ELF64" : "ELF32")} kernel must be "
                + $"{Describe(expectedMachine)} ({(ushort)expectedMachine}). Use a kernel built for x86-64, or an i386 multiboot image.");
        }

        if (type != ExecutableType)
        {
            string what = type == SharedObjectType ? "ET_DYN (position-independent)" : $"{type}";
            throw new BootImageException($"ELF e_type at offset 0x10 is {what}, not ET_EXEC (2). Vessel loads executables at their physical addresses; link the kernel as a static executable.");
        }

        ulong entry = is64 ? BinaryPrimitives.ReadUInt64LittleEndian(image[Elf64EntryOffset..]) : BinaryPrimitives.ReadUInt32LittleEndian(image[Elf32EntryOffset..]);
        ulong programHeaderOffset = is64
            ? BinaryPrimitives.ReadUInt64LittleEndian(image[Elf64ProgramHeaderOffsetOffset..])
            : BinaryPrimitives.ReadUInt32LittleEndian(image[Elf32ProgramHeaderOffsetOffset..]);
        ushort entrySize = BinaryPrimitives.ReadUInt16LittleEndian(image[(is64 ? Elf64ProgramHeaderEntrySizeOffset : Elf32ProgramHeaderEntrySizeOffset)..]);
        ushort count = BinaryPrimitives.ReadUInt16LittleEndian(image[(is64 ? Elf64ProgramHeaderCountOffset : Elf32ProgramHeaderCountOffset)..]);
        var header = new ElfHeader(elfClass, type, machine, entry, programHeaderOffset, entrySize, count);

        int minimumEntrySize = is64 ? Elf64ProgramHeaderSize : Elf32ProgramHeaderSize;
        if (count == 0)
        {
            throw new BootImageException("ELF e_phnum is 0: the file has no program headers, so there is nothing to load. Link it as an executable, not a relocatable object.");
        }

        if (count == ExtendedProgramHeaderCount)
        {
            throw new BootImageException("ELF e_phnum is PN_XNUM (0xffff): extended program header counts are not supported.");
        }

        if (entrySize < minimumEntrySize)
        {
            throw new BootImageException($"ELF e_phentsize is {entrySize}, smaller than a {(is64 ? "Elf64_Phdr" : "Elf32_Phdr")} ({minimumEntrySize} bytes); the file is corrupt.");
        }

        ulong tableEnd = programHeaderOffset + ((ulong)entrySize * count);
        if (tableEnd < programHeaderOffset || tableEnd > (ulong)image.Length)
        {
            throw new BootImageException(
                $"ELF program header table (e_phoff 0x{programHeaderOffset:x}, {count} entries of {entrySize} bytes) ends at 0x{tableEnd:x}, "
                + $"past the end of the {image.Length}-byte file: the file is truncated or corrupt.");
        }

        var programHeaders = new ElfProgramHeader[count];
        for (int index = 0; index < count; index++)
        {
            var entryBytes = image.Slice((int)programHeaderOffset + (index * entrySize), entrySize);
            programHeaders[index] = is64 ? ReadProgramHeader64(index, entryBytes) : ReadProgramHeader32(index, entryBytes);
        }

        return new ElfFile(header, programHeaders);
    }

    private static ElfProgramHeader ReadProgramHeader64(int index, ReadOnlySpan<byte> entry) => new(
        index,
        (ElfProgramHeaderType)BinaryPrimitives.ReadUInt32LittleEndian(entry),
        Offset: BinaryPrimitives.ReadUInt64LittleEndian(entry[Elf64OffsetField..]),
        VirtualAddress: BinaryPrimitives.ReadUInt64LittleEndian(entry[Elf64VirtualAddressField..]),
        PhysicalAddress: BinaryPrimitives.ReadUInt64LittleEndian(entry[Elf64PhysicalAddressField..]),
        FileSize: BinaryPrimitives.ReadUInt64LittleEndian(entry[Elf64FileSizeField..]),
        MemorySize: BinaryPrimitives.ReadUInt64LittleEndian(entry[Elf64MemorySizeField..]));

    private static ElfProgramHeader ReadProgramHeader32(int index, ReadOnlySpan<byte> entry) => new(
        index,
        (ElfProgramHeaderType)BinaryPrimitives.ReadUInt32LittleEndian(entry),
        Offset: BinaryPrimitives.ReadUInt32LittleEndian(entry[Elf32OffsetField..]),
        VirtualAddress: BinaryPrimitives.ReadUInt32LittleEndian(entry[Elf32VirtualAddressField..]),
        PhysicalAddress: BinaryPrimitives.ReadUInt32LittleEndian(entry[Elf32PhysicalAddressField..]),
        FileSize: BinaryPrimitives.ReadUInt32LittleEndian(entry[Elf32FileSizeField..]),
        MemorySize: BinaryPrimitives.ReadUInt32LittleEndian(entry[Elf32MemorySizeField..]));

    private static string Describe(ElfMachine machine) => machine switch
    {
        ElfMachine.I386 => "i386",
        ElfMachine.Arm => "32-bit ARM",
        ElfMachine.X86_64 => "x86-64",
        ElfMachine.AArch64 => "AArch64",
        ElfMachine.RiscV => "RISC-V",
        _ => "another architecture",
    };

    private static void Truncated(ReadOnlySpan<byte> image, int needed, string what) =>
        throw new BootImageException($"ELF file is {image.Length} bytes, too short to hold {what} ({needed} bytes): the file is truncated.");
}
