using Vessel.Boot.Layout;
using Vessel.Core.Memory;

namespace Vessel.Boot.Elf;

/// <summary>
/// Loads an x86 ELF executable's PT_LOAD segments at their physical addresses (p_paddr), as Firecracker (through rust-vmm linux-loader)
/// and QEMU's multiboot loader do: p_filesz bytes from the file, then zeros up to p_memsz.
/// </summary>
public static class ElfLoader
{
    /// <param name="memory">Guest RAM to load into.</param>
    /// <param name="image">The whole ELF file.</param>
    /// <param name="bootAreas">Where the boot loader's own structures go: no segment may overlap them.</param>
    /// <param name="addressLimit">No segment may end above this (4 GiB for a 32-bit entry).</param>
    public static ElfLoadResult Load(GuestMemory memory, ReadOnlySpan<byte> image, IReadOnlyList<BootArea> bootAreas, ulong addressLimit = ulong.MaxValue)
    {
        var elf = ElfFile.Parse(image);
        ulong start = ulong.MaxValue;
        ulong end = 0;
        foreach (var segment in elf.ProgramHeaders)
        {
            if (segment.Type != ElfProgramHeaderType.Load || segment.MemorySize == 0)
            {
                continue;
            }

            Validate(memory, image, segment, bootAreas, addressLimit);
            var contents = image.Slice((int)segment.Offset, (int)segment.FileSize);
            string what = $"ELF segment {segment.Index} (PT_LOAD, p_paddr 0x{segment.PhysicalAddress:x})";
            GuestRam.Write(memory, segment.PhysicalAddress, contents, what);
            GuestRam.Zero(memory, segment.PhysicalAddress + segment.FileSize, segment.MemorySize - segment.FileSize, what);
            start = Math.Min(start, segment.PhysicalAddress);
            end = Math.Max(end, segment.PhysicalAddress + segment.MemorySize);
        }

        if (end == 0)
        {
            throw new BootImageException("ELF file has no PT_LOAD segment with a non-zero p_memsz: there is nothing to load.");
        }

        return new ElfLoadResult(elf.Header.Class, PhysicalEntry(elf), start, end);
    }

    /// <summary>
    /// e_entry as a guest-physical address. Linux's vmlinux already carries a physical e_entry (its linker script sets ENTRY(phys_startup_64)),
    /// and Firecracker jumps to e_entry unchanged; an entry that is virtual (a higher-half kernel whose p_vaddr differs from p_paddr)
    /// is translated through the segment that contains it, as QEMU's multiboot loader does.
    /// </summary>
    private static ulong PhysicalEntry(ElfFile elf)
    {
        ulong entry = elf.Header.Entry;
        foreach (var segment in elf.ProgramHeaders)
        {
            if (segment.Type == ElfProgramHeaderType.Load && entry - segment.PhysicalAddress < segment.MemorySize)
            {
                return entry;
            }
        }

        foreach (var segment in elf.ProgramHeaders)
        {
            if (segment.Type == ElfProgramHeaderType.Load && entry - segment.VirtualAddress < segment.MemorySize)
            {
                return segment.PhysicalAddress + (entry - segment.VirtualAddress);
            }
        }

        throw new BootImageException(
            $"ELF e_entry 0x{entry:x} lies in no PT_LOAD segment, neither by physical (p_paddr) nor by virtual (p_vaddr) address, "
            + "so there is no code to jump to. The file is corrupt or was linked with a wrong entry symbol.");
    }

    private static void Validate(GuestMemory memory, ReadOnlySpan<byte> image, ElfProgramHeader segment, IReadOnlyList<BootArea> bootAreas, ulong addressLimit)
    {
        string name = $"ELF program header {segment.Index} (PT_LOAD)";
        if (segment.FileSize > segment.MemorySize)
        {
            throw new BootImageException($"{name} has p_filesz 0x{segment.FileSize:x} larger than p_memsz 0x{segment.MemorySize:x}; the file is corrupt.");
        }

        ulong fileEnd = segment.Offset + segment.FileSize;
        if (fileEnd < segment.Offset || fileEnd > (ulong)image.Length)
        {
            throw new BootImageException(
                $"{name} has p_offset 0x{segment.Offset:x} + p_filesz 0x{segment.FileSize:x} = 0x{fileEnd:x}, past the end of the {image.Length}-byte file: the file is truncated.");
        }

        ulong memoryEnd = segment.PhysicalAddress + segment.MemorySize;
        if (memoryEnd < segment.PhysicalAddress || memoryEnd > addressLimit)
        {
            throw new BootImageException(
                $"{name} wants guest-physical 0x{segment.PhysicalAddress:x}-0x{memoryEnd:x} (p_paddr + p_memsz), past the loadable limit "
                + $"0x{addressLimit:x}. Link the kernel lower.");
        }

        BootArea.RequireClear(bootAreas, segment.PhysicalAddress, memoryEnd, $"{name} wants guest-physical (p_paddr + p_memsz)");

        GuestRam.Require(memory, segment.PhysicalAddress, segment.MemorySize, $"{name} (p_paddr 0x{segment.PhysicalAddress:x}, p_memsz 0x{segment.MemorySize:x})");
    }
}
