using System.Buffers.Binary;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Vessel.Bench;

/// <summary>
/// The benchmark loop as a multiboot (a.out kludge) kernel that both Vessel and QEMU boot with -kernel: 32-bit entry,
/// identity-mapped page tables, long mode, then <see cref="CpuLoopProgram"/> and the isa-debug-exit port.
/// One image on both machines makes the comparison side by side and fair.
/// </summary>
public static class MultibootLoopImage
{
    public const uint LoadAddress = 0x100000;
    private const uint HeaderSize = 32;
    private const uint LongModeEntry = LoadAddress + 0x1000;
    private const uint MultibootMagic = 0x1BADB002;
    private const uint AoutKludgeFlag = 1u << 16;

    public static byte[] Build(uint iterations)
    {
        var protectedMode = new Assembler(32);
        EmitProtectedModeEntry(protectedMode);
        byte[] entryCode = Assemble(protectedMode, LoadAddress + HeaderSize);

        var longMode = new Assembler(64);
        longMode.mov(ax, 0x10);
        longMode.mov(ds, ax);
        longMode.mov(es, ax);
        longMode.mov(ss, ax);
        longMode.mov(rsp, 0x80000);
        CpuLoopProgram.Emit(longMode, iterations);
        byte[] loopCode = Assemble(longMode, LongModeEntry);

        uint imageSize = LongModeEntry - LoadAddress + (uint)loopCode.Length;
        var image = new byte[imageSize];
        Span<byte> header = image.AsSpan(0, (int)HeaderSize);
        uint flags = AoutKludgeFlag;
        BinaryPrimitives.WriteUInt32LittleEndian(header, MultibootMagic);
        BinaryPrimitives.WriteUInt32LittleEndian(header[4..], flags);
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], unchecked(0u - MultibootMagic - flags));
        BinaryPrimitives.WriteUInt32LittleEndian(header[12..], LoadAddress);
        BinaryPrimitives.WriteUInt32LittleEndian(header[16..], LoadAddress);
        BinaryPrimitives.WriteUInt32LittleEndian(header[20..], LoadAddress + imageSize);
        BinaryPrimitives.WriteUInt32LittleEndian(header[24..], LoadAddress + imageSize);
        BinaryPrimitives.WriteUInt32LittleEndian(header[28..], LoadAddress + HeaderSize);
        entryCode.CopyTo(image, (int)HeaderSize);
        loopCode.CopyTo(image, (int)(LongModeEntry - LoadAddress));
        return image;
    }

    private static void EmitProtectedModeEntry(Assembler a)
    {
        var fill = a.CreateLabel();
        a.cli();
        a.mov(esp, 0x80000);

        // PML4 at 0x9000 -> PDPT at 0xA000 -> PD at 0xB000 with 512 2 MiB pages (the first GiB).
        a.mov(edi, 0x9000);
        a.mov(ecx, 3 * 1024);
        a.xor(eax, eax);
        a.cld();
        a.rep.stosd();
        a.mov(__dword_ptr[0x9000], 0xA003);
        a.mov(__dword_ptr[0xA000], 0xB003);
        a.xor(ecx, ecx);
        a.Label(ref fill);
        a.mov(eax, ecx);
        a.shl(eax, 21);
        a.or(eax, 0x83);
        a.mov(__dword_ptr[ecx * 8 + 0xB000], eax);
        a.inc(ecx);
        a.cmp(ecx, 512);
        a.jb(fill);

        a.mov(eax, cr4);
        a.or(eax, 1 << 5);
        a.mov(cr4, eax);
        a.mov(eax, 0x9000);
        a.mov(cr3, eax);
        a.mov(ecx, 0xC000_0080);
        a.rdmsr();
        a.or(eax, 1 << 8);
        a.wrmsr();
        a.mov(eax, cr0);
        a.or(eax, unchecked((int)0x8000_0001));
        a.mov(cr0, eax);

        // GDT at 0x8000: null, 64-bit code (0x08), data (0x10); its pseudo-descriptor at 0x8020.
        a.mov(__dword_ptr[0x8000], 0);
        a.mov(__dword_ptr[0x8004], 0);
        a.mov(__dword_ptr[0x8008], 0x0000_FFFF);
        a.mov(__dword_ptr[0x800C], 0x00AF_9A00);
        a.mov(__dword_ptr[0x8010], 0x0000_FFFF);
        a.mov(__dword_ptr[0x8014], 0x00CF_9200);
        a.mov(__word_ptr[0x8020], 0x17);
        a.mov(__dword_ptr[0x8022], 0x8000);
        a.lgdt(__[0x8020]);
        a.jmp(0x08, LongModeEntry);
    }

    private static byte[] Assemble(Assembler assembler, ulong address)
    {
        var stream = new MemoryStream();
        assembler.Assemble(new StreamCodeWriter(stream), address);
        return stream.ToArray();
    }
}
