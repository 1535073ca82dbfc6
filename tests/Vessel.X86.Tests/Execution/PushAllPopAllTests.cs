using Vessel.Core.Memory;
using Vessel.X86.Tests.Modes;
using static Iced.Intel.AssemblerRegisters;

namespace Vessel.X86.Tests.Execution;

/// <summary>PUSHA/PUSHAD and POPA/POPAD (SDM 2): the order of the eight slots, the SP slot, and a fault part-way.</summary>
public class PushAllPopAllTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private const ulong CodeAddress = 0x3000;

    [Fact]
    public void Pushad_stores_eax_to_edi_with_the_original_esp_and_popad_restores_all_but_esp_from_its_slot()
    {
        using var guest = new ModeGuest();
        guest.Load(32, CodeAddress, a =>
        {
            a.mov(eax, 0xA0);
            a.mov(ecx, 0xC0);
            a.mov(edx, 0xD0);
            a.mov(ebx, 0xB0);
            a.mov(ebp, 0xB9);
            a.mov(esi, 0x51);
            a.mov(edi, 0xD1);
            a.pushad();
            for (int slot = 0; slot < 8; slot++)
            {
                a.mov(eax, __dword_ptr[esp + (slot * 4)]);
                ModeGuest.EmitReport(a, eax);
            }

            // POPAD discards the ESP slot: a changed value there has no effect.
            a.mov(__dword_ptr[esp + 12], 0x1234);
            a.mov(__dword_ptr[esp + 28], 0xAA);
            a.xor(eax, eax);
            a.xor(edi, edi);
            a.popad();
            foreach (var register in new[] { eax, ecx, edx, ebx, esp, ebp, esi, edi })
            {
                ModeGuest.EmitReport(a, register);
            }

            ModeGuest.EmitExit(a, 0);
        });
        guest.StartInProtectedMode(CodeAddress);

        var exit = guest.RunFor(Timeout);

        uint stack = (uint)ModeGuest.StackTop;
        Assert.True(guest.Io.ExitValue == 0, exit.ToString());
        Assert.Equal(
            [0xD1u, 0x51u, 0xB9u, stack, 0xB0u, 0xD0u, 0xC0u, 0xA0u, 0xAAu, 0xC0u, 0xD0u, 0xB0u, stack, 0xB9u, 0x51u, 0xD1u],
            guest.Values);
    }

    [Fact]
    public void Pusha_in_real_mode_pushes_eight_words_and_popa_pops_them()
    {
        using var guest = new ModeGuest();
        guest.Load(16, 0x1000, a =>
        {
            a.xor(ax, ax);
            a.mov(ss, ax);
            a.mov(sp, (ushort)ModeGuest.StackTop);
            a.mov(ax, 0x1111);
            a.mov(di, 0x7777);
            a.pusha();
            a.movzx(ecx, sp);
            ModeGuest.EmitReport(a, ecx);
            a.xor(ax, ax);
            a.xor(di, di);
            a.popa();
            a.movzx(ebx, ax);
            a.movzx(edx, di);
            a.movzx(ecx, sp);
            ModeGuest.EmitReport(a, ecx);
            ModeGuest.EmitReport(a, ebx);
            ModeGuest.EmitReport(a, edx);
            ModeGuest.EmitExit(a, 0);
        });
        guest.StartInRealMode(0, 0x1000);

        var exit = guest.RunFor(Timeout);

        Assert.True(guest.Io.ExitValue == 0, exit.ToString());
        Assert.Equal([(uint)ModeGuest.StackTop - 16, (uint)ModeGuest.StackTop, 0x1111u, 0x7777u], guest.Values);
    }

    [Fact]
    public void A_pushad_that_page_faults_part_way_leaves_esp_unchanged_so_it_can_be_restarted()
    {
        const ulong directory = 0x10000;
        const ulong table = 0x11000;
        const uint stackPage = 0x5000;
        const ulong handler = 0x6800;
        using var guest = new ModeGuest();

        // Identity-map the first 4 MiB with 4 KiB pages except the page below the stack page, so PUSHAD with ESP 16 bytes
        // into the stack page writes four slots and then faults on the fifth.
        guest.Memory.Write(new GuestAddress(directory), (uint)table | 0x3);
        for (uint page = 0; page < 1024; page++)
        {
            uint entry = page == (stackPage >> 12) - 1 ? 0 : (page << 12) | 0x3;
            guest.Memory.Write(new GuestAddress(table + (page * 4)), entry);
        }

        guest.Load(32, CodeAddress, a =>
        {
            a.mov(eax, (uint)directory);
            a.mov(cr3, eax);
            a.mov(eax, cr0);
            a.or(eax, 0x8000_0000);
            a.mov(cr0, eax);
            a.mov(esp, stackPage + 16);
            a.pushad();
            ModeGuest.EmitExit(a, 1);
        });

        // The #PF frame (error code, EIP, CS, EFLAGS) is pushed on the same stack: 16 bytes, exactly what the mapped part
        // of the stack page holds once ESP is back where PUSHAD started. The handler reports ESP, the error code and CR2.
        guest.Load(32, handler, a =>
        {
            ModeGuest.EmitReport(a, esp);
            a.mov(eax, __dword_ptr[esp]);
            ModeGuest.EmitReport(a, eax);
            a.mov(eax, cr2);
            ModeGuest.EmitReport(a, eax);
            ModeGuest.EmitExit(a, 0);
        });
        guest.SetProtectedModeGate(14, handler);
        guest.StartInProtectedMode(CodeAddress);

        var exit = guest.RunFor(Timeout);

        Assert.True(guest.Io.ExitValue == 0, $"{exit}; values {string.Join(",", guest.Values.Select(v => v.ToString("x")))}");

        // A write to a not-present page (error code W=1, P=0) at the fifth slot, 0x4FFC.
        Assert.Equal([stackPage, 0x2u, stackPage - 4], guest.Values);
    }
}
