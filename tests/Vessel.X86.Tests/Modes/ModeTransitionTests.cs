using Vessel.Core.Memory;
using Vessel.X86.Cpu;
using static Iced.Intel.AssemblerRegisters;

namespace Vessel.X86.Tests.Modes;

/// <summary>
/// One guest that climbs from real mode through 16- and 32-bit protected mode, 32-bit, PAE and 4-level paging into
/// 64-bit and compatibility mode, then climbs all the way back down to real mode (Intel SDM 3A §9.8, §9.9, §10.8.5),
/// reporting a checkpoint after each transition.
/// </summary>
public class ModeTransitionTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private const ulong RealEntry = 0x1000;
    private const ulong RealReturn = 0x1800;
    private const ulong Protected16Up = 0x2000;
    private const ulong Protected16Down = 0x2800;
    private const ulong Protected32 = 0x3000;
    private const ulong Long64Entry = 0x4000;
    private const ulong Long64Return = 0x4800;
    private const ulong CompatibilityEntry = 0x5000;
    private const ulong CompatibilityExit = 0x5800;
    private const ulong FarPointer = 0x7F00;

    /// <summary>Page tables: 32-bit directory and table, PAE PDPT, directory and table, PML4 and PDPT reusing the PAE directory.</summary>
    private const ulong Directory32 = 0x10000;
    private const ulong Table32 = 0x11000;
    private const ulong PaePdpt = 0x12000;
    private const ulong PaeDirectory = 0x13000;
    private const ulong PaeTable = 0x14000;
    private const ulong Pml4 = 0x15000;
    private const ulong Pdpt = 0x16000;

    /// <summary>Physical pages the paged views read: a marker the host wrote, and a page each paging mode writes through an alias.</summary>
    private const ulong MarkerPage = 0x9000;
    private const ulong AliasedPage = 0xA000;
    private const uint Marker = 0x600D_F00D;

    /// <summary>Linear 4 MiB maps physical 0 (a 4 MiB or 2 MiB alias); linear 8 MiB maps <see cref="MarkerPage"/> and the next page through 4 KiB entries.</summary>
    private const uint LargeAlias = 0x40_0000;
    private const uint SmallAlias = 0x80_0000;

    private const uint Efer = 0xC000_0080;
    private const uint Cr0Paging = 0x8000_0000;
    private const uint Cr4PageSize = 0x10;
    private const uint Cr4Pae = 0x20;
    private const uint EferLongModeEnable = 0x100;
    private const uint EferLongModeActive = 0x400;

    [Fact]
    public void A_guest_climbs_from_real_mode_to_64_bit_mode_and_back_down_to_real_mode_reporting_each_step()
    {
        using var guest = new ModeGuest();
        WritePageTables(guest.Memory);
        guest.Memory.Write(new GuestAddress(MarkerPage), Marker);

        guest.Load(16, RealEntry, a =>
        {
            a.cli();
            a.xor(ax, ax);
            a.mov(ds, ax);
            a.mov(es, ax);
            a.mov(ss, ax);
            a.mov(sp, (ushort)ModeGuest.StackTop);
            ModeGuest.EmitCheckpoint(a, 1);
            a.lgdt(__[(uint)ModeGuest.GdtPointerAddress]);
            a.mov(eax, cr0);
            a.or(al, 1);
            a.mov(cr0, eax);
            a.jmp(ModeGuest.Code16, (uint)Protected16Up);
        });

        guest.Load(16, Protected16Up, a =>
        {
            a.mov(ax, ModeGuest.Data16);
            a.mov(ds, ax);
            a.mov(es, ax);
            a.mov(ss, ax);
            ModeGuest.EmitCheckpoint(a, 2);
            a.mov(ax, cs);
            a.movzx(eax, ax);
            ModeGuest.EmitReport(a, eax);

            // 0x66 and 0x67 in 16-bit protected-mode code.
            a.mov(ebx, 0x8100);
            a.mov(__dword_ptr[ebx + 4], 0x5566_7788);
            a.mov(ecx, __dword_ptr[ebx + 4]);
            a.add(ecx, 0x1111_1111);
            ModeGuest.EmitReport(a, ecx);
            a.jmp(ModeGuest.Code32, (uint)Protected32);
        });

        guest.Load(32, Protected32, a =>
        {
            a.mov(ax, ModeGuest.Data32);
            a.mov(ds, ax);
            a.mov(es, ax);
            a.mov(fs, ax);
            a.mov(gs, ax);
            a.mov(ss, ax);
            a.mov(esp, (uint)ModeGuest.StackTop);
            ModeGuest.EmitCheckpoint(a, 3);
            a.mov(ax, cs);
            a.movzx(eax, ax);
            ModeGuest.EmitReport(a, eax);

            // 32-bit paging: a 4 MiB page (CR4.PSE) and 4 KiB pages in one directory.
            a.mov(eax, cr4);
            a.or(eax, Cr4PageSize);
            a.mov(cr4, eax);
            a.mov(eax, (uint)Directory32);
            a.mov(cr3, eax);
            a.mov(eax, cr0);
            a.or(eax, Cr0Paging);
            a.mov(cr0, eax);
            ModeGuest.EmitCheckpoint(a, 4);
            ReportPagedViews(a, 0x1111_1111);
            a.mov(eax, cr0);
            a.and(eax, ~Cr0Paging);
            a.mov(cr0, eax);
            ModeGuest.EmitCheckpoint(a, 5);

            // PAE paging: 2 MiB and 4 KiB pages below a four-entry PDPT.
            a.mov(eax, cr4);
            a.or(eax, Cr4Pae);
            a.mov(cr4, eax);
            a.mov(eax, (uint)PaePdpt);
            a.mov(cr3, eax);
            a.mov(eax, cr0);
            a.or(eax, Cr0Paging);
            a.mov(cr0, eax);
            ModeGuest.EmitCheckpoint(a, 6);
            ReportPagedViews(a, 0x2222_2222);
            a.mov(eax, cr0);
            a.and(eax, ~Cr0Paging);
            a.mov(cr0, eax);
            ModeGuest.EmitCheckpoint(a, 7);

            // Long mode: CR4.PAE is still set; EFER.LME, then CR0.PG activates IA-32e mode (LMA) in compatibility mode.
            a.mov(eax, (uint)Pml4);
            a.mov(cr3, eax);
            a.mov(ecx, Efer);
            a.rdmsr();
            a.or(eax, EferLongModeEnable);
            a.wrmsr();
            a.mov(eax, cr0);
            a.or(eax, Cr0Paging);
            a.mov(cr0, eax);
            ModeGuest.EmitCheckpoint(a, 8);
            a.mov(ecx, Efer);
            a.rdmsr();
            ModeGuest.EmitReport(a, eax);
            a.jmp(ModeGuest.Code64, (uint)Long64Entry);
        });

        guest.Load(64, Long64Entry, a =>
        {
            ModeGuest.EmitCheckpoint(a, 9);
            a.mov(rax, 0x1_0000_0002);
            a.add(rax, rax);
            a.shr(rax, 32);
            ModeGuest.EmitReport(a, eax);
            ReportPagedViews(a, 0x3333_3333);
            a.mov(ax, cs);
            a.movzx(eax, ax);
            ModeGuest.EmitReport(a, eax);

            // A far return to a 32-bit (L=0) code segment enters compatibility mode.
            a.push(ModeGuest.Code32);
            a.push((int)CompatibilityEntry);
            a.db(0x48, 0xCB); // REX.W RETF: pop a 64-bit RIP and CS
        });

        guest.Load(32, CompatibilityEntry, a =>
        {
            ModeGuest.EmitCheckpoint(a, 10);
            a.mov(ax, cs);
            a.movzx(eax, ax);
            ModeGuest.EmitReport(a, eax);
            a.mov(ecx, Efer);
            a.rdmsr();
            ModeGuest.EmitReport(a, eax);
            a.jmp(ModeGuest.Code64, (uint)Long64Return);
        });

        guest.Load(64, Long64Return, a =>
        {
            ModeGuest.EmitCheckpoint(a, 11);
            a.mov(rax, 0xFFFF_FFFF_0000_0000);
            a.sar(rax, 63);
            ModeGuest.EmitReport(a, eax);

            // Back to compatibility mode through a far JMP m16:32, to leave long mode from there.
            a.mov(__dword_ptr[FarPointer], (uint)CompatibilityExit);
            a.mov(__word_ptr[FarPointer + 4], ModeGuest.Code32);
            a.jmp(__fword_ptr[FarPointer]);
        });

        guest.Load(32, CompatibilityExit, a =>
        {
            ModeGuest.EmitCheckpoint(a, 12);

            // Clearing CR0.PG in compatibility mode deactivates IA-32e mode (SDM 3A §10.8.5.4): LMA clears, LME stays.
            a.mov(eax, cr0);
            a.and(eax, ~Cr0Paging);
            a.mov(cr0, eax);
            a.mov(ecx, Efer);
            a.rdmsr();
            ModeGuest.EmitReport(a, eax);
            a.and(eax, ~EferLongModeEnable);
            a.wrmsr();
            a.rdmsr();
            ModeGuest.EmitReport(a, eax);
            a.mov(eax, cr4);
            a.and(eax, ~(Cr4Pae | Cr4PageSize));
            a.mov(cr4, eax);
            ModeGuest.EmitCheckpoint(a, 13);
            a.jmp(ModeGuest.Code16, (uint)Protected16Down);
        });

        guest.Load(16, Protected16Down, a =>
        {
            // SDM 3A §9.9.2: 64 KiB, byte-granular, expand-up, writable segments in every data register before clearing PE.
            a.mov(ax, ModeGuest.Data16);
            a.mov(ds, ax);
            a.mov(es, ax);
            a.mov(fs, ax);
            a.mov(gs, ax);
            a.mov(ss, ax);
            ModeGuest.EmitCheckpoint(a, 14);
            a.mov(ebx, (uint)MarkerPage);
            a.mov(ecx, __dword_ptr[ebx]);
            ModeGuest.EmitReport(a, ecx);
            a.mov(eax, cr0);
            a.and(al, 0xFE);
            a.mov(cr0, eax);
            a.jmp(0, (uint)RealReturn);
        });

        guest.Load(16, RealReturn, a =>
        {
            a.xor(ax, ax);
            a.mov(ss, ax);
            a.mov(sp, (ushort)ModeGuest.StackTop);
            a.mov(ax, (ushort)(MarkerPage >> 4));
            a.mov(ds, ax);
            ModeGuest.EmitCheckpoint(a, 15);
            a.mov(ax, cs);
            a.movzx(eax, ax);
            ModeGuest.EmitReport(a, eax);
            a.mov(ecx, __dword_ptr[0]);
            ModeGuest.EmitReport(a, ecx);
            ModeGuest.EmitExit(a, 0);
        });

        guest.StartInRealMode(0, (ushort)RealEntry);

        var exit = guest.RunFor(Timeout);

        Assert.True(guest.Io.ExitValue == 0, $"{exit}; checkpoints reached: {string.Join(",", guest.Checkpoints)}");
        Assert.Equal(Enumerable.Range(1, 15).Select(i => (uint)i), guest.Checkpoints);
        Assert.Equal(
            [
                ModeGuest.Code16, 0x6677_8899u,
                ModeGuest.Code32,
                Marker, 0x1111_1111u, 0x1111_1111u,
                Marker, 0x2222_2222u, 0x2222_2222u,
                EferLongModeEnable | EferLongModeActive,
                2u, Marker, 0x3333_3333u, 0x3333_3333u, ModeGuest.Code64,
                ModeGuest.Code32, EferLongModeEnable | EferLongModeActive,
                0xFFFF_FFFFu,
                EferLongModeEnable, 0u,
                Marker,
                0u, Marker,
            ],
            guest.Values);

        var cpu = guest.Cpu;
        Assert.False(cpu.ProtectedMode);
        Assert.False(cpu.PagingEnabled);
        Assert.Equal(0ul, (ulong)cpu.Efer);
        Assert.Equal(0ul, cpu.Cr4);
        Assert.Equal(16, cpu.CodeBits);
        Assert.Equal(new SegmentStateView(0, 0), View(cpu.Segment(SegmentRegister.CS)));
        Assert.Equal(new SegmentStateView((ushort)(MarkerPage >> 4), MarkerPage), View(cpu.Segment(SegmentRegister.DS)));

        // The walks left their marks (SDM 3A §4.8): accessed on every entry used, dirty on the 4 MiB page written through.
        Assert.Equal(0x60ul, guest.Memory.Read<uint>(new GuestAddress(Directory32 + 4)) & 0x60ul);
        Assert.Equal(0x20ul, guest.Memory.Read<uint>(new GuestAddress(Table32)) & 0x20ul);
        Assert.Equal(0x20ul, guest.Memory.Read<ulong>(new GuestAddress(PaeTable + 8)) & 0x20ul);
    }

    [Fact]
    public void Sixteen_bit_protected_mode_code_takes_interrupts_through_32_bit_and_16_bit_gates_with_frames_of_their_width()
    {
        const ulong handler32 = 0x3000;
        const ulong handler16 = 0x2800;
        using var guest = new ModeGuest();
        guest.Load(16, RealEntry, a =>
        {
            a.cli();
            a.xor(ax, ax);
            a.mov(ds, ax);
            a.mov(ss, ax);
            a.mov(sp, (ushort)ModeGuest.StackTop);
            a.lgdt(__[(uint)ModeGuest.GdtPointerAddress]);
            a.lidt(__[(uint)ModeGuest.IdtPointerAddress]);
            a.mov(eax, cr0);
            a.or(al, 1);
            a.mov(cr0, eax);
            a.jmp(ModeGuest.Code16, (uint)Protected16Up);
        });

        Iced.Intel.Label after32 = default, after16 = default;
        var labels = guest.Load(16, Protected16Up, a =>
        {
            after32 = a.CreateLabel();
            after16 = a.CreateLabel();
            a.mov(ax, ModeGuest.Data16);
            a.mov(ds, ax);
            a.mov(es, ax);
            a.mov(ss, ax);
            a.@int(0x30);
            a.Label(ref after32);
            a.movzx(ecx, sp);
            ModeGuest.EmitReport(a, ecx);
            a.@int(0x31);
            a.Label(ref after16);
            a.movzx(ecx, sp);
            ModeGuest.EmitReport(a, ecx);
            a.mov(ax, cs);
            a.movzx(eax, ax);
            ModeGuest.EmitReport(a, eax);
            ModeGuest.EmitExit(a, 0);
        });

        // A 32-bit gate pushes EFLAGS, CS and EIP as dwords even from 16-bit code, and IRETD returns there.
        guest.Load(32, handler32, a =>
        {
            a.movzx(ecx, sp);
            ModeGuest.EmitReport(a, ecx);
            a.movzx(ebx, sp);
            a.mov(ecx, __dword_ptr[ebx]);
            ModeGuest.EmitReport(a, ecx);
            a.movzx(ecx, __word_ptr[ebx + 4]);
            ModeGuest.EmitReport(a, ecx);
            a.iretd();
        });

        // A 16-bit interrupt gate (type 6) pushes FLAGS, CS and IP as words (SDM 3A §6.12.1).
        guest.Load(16, handler16, a =>
        {
            a.movzx(ecx, sp);
            ModeGuest.EmitReport(a, ecx);
            a.mov(bp, sp);
            a.movzx(eax, __word_ptr[bp]);
            ModeGuest.EmitReport(a, eax);
            a.movzx(eax, __word_ptr[bp + 2]);
            ModeGuest.EmitReport(a, eax);
            a.iret();
        });
        guest.SetProtectedModeGate(0x30, handler32);
        guest.Memory.Write(
            new GuestAddress(ModeGuest.IdtAddress + (0x31 * 8)),
            handler16 | ((ulong)ModeGuest.Code16 << 16) | (0x86UL << 40));
        guest.StartInRealMode(0, (ushort)RealEntry);

        var exit = guest.RunFor(Timeout);

        Assert.True(guest.Io.ExitValue == 0, $"{exit}; values {string.Join(",", guest.Values.Select(v => v.ToString("x")))}");
        uint stack = (uint)ModeGuest.StackTop;
        Assert.Equal(
            [
                stack - 12, (uint)labels(after32), ModeGuest.Code16, stack,
                stack - 6, (uint)labels(after16), ModeGuest.Code16, stack,
                ModeGuest.Code16,
            ],
            guest.Values);
        Assert.Equal(16, guest.Cpu.CodeBits);
    }

    private readonly record struct SegmentStateView(ushort Selector, ulong Base);

    private static SegmentStateView View(Vessel.Core.Accel.SegmentState segment) => new(segment.Selector, segment.Base);

    /// <summary>
    /// Writes <paramref name="value"/> to <see cref="AliasedPage"/> through the large-page alias, then reports the marker
    /// and that page through the 4 KiB mappings and the page through the identity map (clobbers EAX).
    /// </summary>
    private static void ReportPagedViews(Iced.Intel.Assembler a, uint value)
    {
        a.mov(__dword_ptr[LargeAlias + AliasedPage], value);
        a.mov(eax, __dword_ptr[SmallAlias]);
        ModeGuest.EmitReport(a, eax);
        a.mov(eax, __dword_ptr[SmallAlias + 0x1000]);
        ModeGuest.EmitReport(a, eax);
        a.mov(eax, __dword_ptr[AliasedPage]);
        ModeGuest.EmitReport(a, eax);
    }

    private static void WritePageTables(GuestMemory memory)
    {
        void Entry32(ulong table, int index, uint entry) => memory.Write(new GuestAddress(table + ((ulong)index * 4)), entry);
        void Entry64(ulong table, int index, ulong entry) => memory.Write(new GuestAddress(table + ((ulong)index * 8)), entry);

        // 32-bit: present, writable, 4 MiB (PS) for 0-4 MiB and the alias at 4 MiB; a page table for 8 MiB.
        Entry32(Directory32, 0, 0x83);
        Entry32(Directory32, 1, 0x83);
        Entry32(Directory32, 2, (uint)Table32 | 0x3);
        Entry32(Table32, 0, (uint)MarkerPage | 0x3);
        Entry32(Table32, 1, (uint)AliasedPage | 0x3);

        // PAE: PDPTEs have only P among the low flags (SDM 3A §4.4.1); 2 MiB pages at 0 and at 4 MiB, a page table at 8 MiB.
        Entry64(PaePdpt, 0, PaeDirectory | 0x1);
        Entry64(PaeDirectory, 0, 0x83);
        Entry64(PaeDirectory, 2, 0x83);
        Entry64(PaeDirectory, 4, PaeTable | 0x3);
        Entry64(PaeTable, 0, MarkerPage | 0x3);
        Entry64(PaeTable, 1, AliasedPage | 0x3);

        // 4-level: the PAE directory serves as the first GiB's page directory.
        Entry64(Pml4, 0, Pdpt | 0x3);
        Entry64(Pdpt, 0, PaeDirectory | 0x3);
    }
}
