using Vessel.Core.Memory;
using static Iced.Intel.AssemblerRegisters;

namespace Vessel.X86.Tests.Modes;

/// <summary>
/// The control-register and EFER writes the SDM refuses with #GP(0) on the way into and out of IA-32e mode
/// (SDM 2 "MOV—Move to/from Control Registers" and "WRMSR", SDM 3A §10.8.5): each refused write leaves the mode as it was.
/// </summary>
public class ModeSwitchRuleTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private const ulong CodeAddress = 0x3000;
    private const ulong Code64Address = 0x4000;
    private const ulong Handler32Address = 0x6800;
    private const ulong Handler64Address = 0x6900;

    /// <summary>A 64-bit IDT for once IA-32e mode is active (it replaces the 32-bit one), and its LIDT pointer.</summary>
    private const ulong Idt64Address = 0xC000;
    private const ulong Idt64PointerAddress = 0x7F10;

    /// <summary>How many bytes the #GP handler skips: the length of the refused instruction, set just before it.</summary>
    private const ulong SkipSlot = 0x7F00;

    private const uint Efer = 0xC000_0080;
    private const uint Cr0Paging = 0x8000_0000;
    private const uint Cr4Pae = 0x20;
    private const uint EferLongModeEnable = 0x100;
    private const uint EferLongModeActive = 0x400;

    [Fact]
    public void Writes_that_would_break_the_ia32e_mode_rules_raise_general_protection_and_change_nothing()
    {
        using var guest = new ModeGuest();
        guest.Load(32, CodeAddress, a =>
        {
            // PG without PE.
            ModeGuest.EmitCheckpoint(a, 1);
            a.mov(__dword_ptr[SkipSlot], 3);
            a.mov(eax, cr0);
            a.and(eax, ~1u);
            a.or(eax, Cr0Paging);
            a.mov(cr0, eax);
            a.mov(eax, cr0);
            a.and(eax, Cr0Paging | 1);
            ModeGuest.EmitReport(a, eax);

            // PG with EFER.LME but without CR4.PAE.
            ModeGuest.EmitCheckpoint(a, 2);
            a.mov(eax, (uint)ModeGuest.LongModePml4Address);
            a.mov(cr3, eax);
            a.mov(ecx, Efer);
            a.rdmsr();
            a.or(eax, EferLongModeEnable);
            a.wrmsr();
            a.mov(eax, cr0);
            a.or(eax, Cr0Paging);
            a.mov(cr0, eax);
            a.rdmsr();
            ModeGuest.EmitReport(a, eax);

            // Now properly into IA-32e mode; still in a 32-bit CS, so compatibility mode. Faults need the 64-bit IDT now.
            a.mov(eax, cr4);
            a.or(eax, Cr4Pae);
            a.mov(cr4, eax);
            a.mov(eax, cr0);
            a.or(eax, Cr0Paging);
            a.mov(cr0, eax);
            a.lidt(__[(uint)Idt64PointerAddress]);
            ModeGuest.EmitCheckpoint(a, 3);
            a.mov(ecx, Efer);
            a.rdmsr();
            ModeGuest.EmitReport(a, eax);

            // Clearing CR4.PAE while IA-32e mode is active.
            a.mov(eax, cr4);
            a.and(eax, ~Cr4Pae);
            a.mov(cr4, eax);

            // Clearing EFER.LME while paging is on.
            ModeGuest.EmitCheckpoint(a, 4);
            a.mov(__dword_ptr[SkipSlot], 2);
            a.mov(ecx, Efer);
            a.rdmsr();
            a.and(eax, ~EferLongModeEnable);
            a.wrmsr();
            a.mov(eax, cr4);
            a.and(eax, Cr4Pae);
            ModeGuest.EmitReport(a, eax);
            a.rdmsr();
            ModeGuest.EmitReport(a, eax);
            a.jmp(ModeGuest.Code64, (uint)Code64Address);
        });

        guest.Load(64, Code64Address, a =>
        {
            // Clearing CR0.PG in 64-bit mode: IA-32e mode is left only from compatibility mode (SDM 3A §10.8.5.4).
            ModeGuest.EmitCheckpoint(a, 5);
            a.mov(__dword_ptr[SkipSlot], 3);
            a.mov(rax, cr0);
            a.btr(eax, 31);
            a.mov(cr0, rax);
            ModeGuest.EmitCheckpoint(a, 6);
            a.mov(rax, cr0);
            a.shr(eax, 31);
            ModeGuest.EmitReport(a, eax);
            ModeGuest.EmitExit(a, 0);
        });

        // Each #GP handler reports the error code and the interrupted CS, then returns past the refused instruction.
        guest.Load(32, Handler32Address, a =>
        {
            a.pop(eax);
            ModeGuest.EmitReport(a, eax);
            a.mov(eax, __dword_ptr[esp + 4]);
            ModeGuest.EmitReport(a, eax);
            a.mov(eax, __dword_ptr[SkipSlot]);
            a.add(__dword_ptr[esp], eax);
            a.iretd();
        });
        guest.Load(64, Handler64Address, a =>
        {
            a.pop(rax);
            ModeGuest.EmitReport(a, eax);
            a.mov(rax, __qword_ptr[rsp + 8]);
            ModeGuest.EmitReport(a, eax);
            a.mov(eax, __dword_ptr[SkipSlot]);
            a.add(__qword_ptr[rsp], rax);
            a.iretq();
        });
        guest.SetProtectedModeGate(13, Handler32Address);
        ulong gate64 = (Handler64Address & 0xFFFF) | ((ulong)ModeGuest.Code64 << 16) | (0x8EUL << 40) | (((Handler64Address >> 16) & 0xFFFF) << 48);
        guest.Memory.Write(new GuestAddress(Idt64Address + (13 * 16)), gate64);
        guest.Memory.Write(new GuestAddress(Idt64PointerAddress), (ushort)0xFFF);
        guest.Memory.Write(new GuestAddress(Idt64PointerAddress + 2), (uint)Idt64Address);
        guest.StartInProtectedMode(CodeAddress);

        var exit = guest.RunFor(Timeout);

        Assert.True(guest.Io.ExitValue == 0, $"{exit}; checkpoints {string.Join(",", guest.Checkpoints)}; values {string.Join(",", guest.Values.Select(v => v.ToString("x")))}");
        Assert.Equal([1u, 2u, 3u, 4u, 5u, 6u], guest.Checkpoints);
        Assert.Equal(
            [
                0u, ModeGuest.Code32, 1u,
                0u, ModeGuest.Code32, EferLongModeEnable,
                EferLongModeEnable | EferLongModeActive, 0u, ModeGuest.Code32,
                0u, ModeGuest.Code32, Cr4Pae, EferLongModeEnable | EferLongModeActive,
                0u, ModeGuest.Code64, 1u,
            ],
            guest.Values);
        Assert.True(guest.Cpu.LongMode);
        Assert.Equal(64, guest.Cpu.CodeBits);
    }
}
