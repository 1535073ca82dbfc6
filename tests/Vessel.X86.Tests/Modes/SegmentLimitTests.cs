using Iced.Intel;
using Vessel.Core.Memory;
using static Iced.Intel.AssemblerRegisters;

namespace Vessel.X86.Tests.Modes;

/// <summary>
/// Segment limit and null-segment checks on data and stack accesses (Intel SDM 3A §5.3, §5.4.1; SDM 2 "Protected Mode
/// Exceptions" and "Real-Address Mode Exceptions" of MOV, PUSH, POP, STOS): faults arrive through the IVT in real mode
/// and through 32-bit IDT gates in protected mode, at the faulting instruction, with nothing it would change changed.
/// </summary>
public class SegmentLimitTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private const ushort RealCodeSegment = 0x0300;
    private const ulong CodeAddress = 0x3000;
    private const ulong HandlerAddress = 0x6000;
    private const ulong HighData = 0x10_0000;

    private const uint StackFault = 12;
    private const uint GeneralProtection = 13;

    /// <summary>Base 0x10000, limit 0xFFF (byte granular), writable, B=1.</summary>
    private const ushort SmallData = 0x48;

    /// <summary>Expand-down, limit 0xFFF, B=1: offsets 0x1000-0xFFFFFFFF are valid.</summary>
    private const ushort ExpandDownData = 0x50;

    /// <summary>Base 0, limit 0x6FFF, writable, B=1.</summary>
    private const ushort SmallStack = 0x58;

    private const ushort UserCode = 0x60 | 3;

    /// <summary>Ring-3 stack: base 0, limit 0x6FFF, writable, B=1.</summary>
    private const ushort UserStack = 0x68 | 3;

    [Fact]
    public void A_real_mode_access_past_the_64_KiB_limit_raises_general_protection_through_the_ivt()
    {
        var (exit, values, access) = RunRealMode(13, a =>
        {
            a.mov(ebx, 0x1_0000);
            a.mov(ecx, 0x1234);
            return () => a.mov(ecx, __dword_ptr[ebx]);
        }, reportEcx: true);

        Assert.True(values.Count == 2, $"{exit}; values {string.Join(", ", values)}");
        Assert.Equal([(uint)access, 0x1234u], values);
    }

    [Fact]
    public void A_real_mode_word_access_at_offset_0xFFFF_raises_general_protection()
    {
        var (exit, values, access) = RunRealMode(13, a =>
        {
            a.mov(bx, 0xFFFF);
            return () => a.mov(cx, __word_ptr[bx]);
        });

        Assert.True(values.Count == 1, $"{exit}; values {string.Join(", ", values)}");
        Assert.Equal([(uint)access], values);
    }

    [Fact]
    public void A_real_mode_bp_based_access_past_the_ss_limit_raises_stack_fault()
    {
        var (exit, values, access) = RunRealMode(12, a =>
        {
            a.mov(bp, 0xFFFE);
            return () => a.mov(ecx, __dword_ptr[bp]);
        });

        Assert.True(values.Count == 1, $"{exit}; values {string.Join(", ", values)}");
        Assert.Equal([(uint)access], values);
    }

    [Fact]
    public void A_real_mode_pop_past_the_ss_limit_raises_stack_fault_and_leaves_sp()
    {
        var (exit, values, access) = RunRealMode(12, a =>
        {
            a.mov(sp, 0xFFFF);
            return () => a.pop(ax);
        }, reportSp: true);

        Assert.True(values.Count == 2, $"{exit}; values {string.Join(", ", values)}");
        Assert.Equal([(uint)access, 0xFFFFu - 6], values);
    }

    [Fact]
    public void Unreal_mode_keeps_the_4_GiB_limit_loaded_in_protected_mode_for_accesses_above_64_KiB()
    {
        using var guest = new ModeGuest();
        guest.Memory.Write(new GuestAddress(HighData), 0xC0FF_EE00u);
        const ushort back = 0x200;
        guest.Load(16, (ulong)RealCodeSegment << 4, a =>
        {
            a.cli();
            a.xor(ax, ax);
            a.mov(ss, ax);
            a.mov(sp, (ushort)ModeGuest.StackTop);
            a.lgdt(__[(uint)ModeGuest.GdtPointerAddress]);
            a.mov(eax, cr0);
            a.or(al, 1);
            a.mov(cr0, eax);
            a.mov(bx, ModeGuest.Data32);
            a.mov(ds, bx);
            a.and(al, 0xFE);
            a.mov(cr0, eax);
            a.jmp(RealCodeSegment, back);
        }, origin: 0);
        guest.Load(16, ((ulong)RealCodeSegment << 4) + back, a =>
        {
            a.xor(ax, ax);
            a.mov(ds, ax);
            a.mov(ebx, (uint)HighData);
            a.mov(ecx, __dword_ptr[ebx]);
            ModeGuest.EmitReport(a, ecx);
            ModeGuest.EmitExit(a, 0);
        }, origin: back);
        guest.StartInRealMode(RealCodeSegment, 0);

        var exit = guest.RunFor(Timeout);

        Assert.True(guest.Io.ExitValue == 0, $"{exit}; exit value {guest.Io.ExitValue}");
        Assert.Equal([0xC0FF_EE00u], guest.Values);
    }

    [Fact]
    public void A_32_bit_access_past_a_small_limit_raises_general_protection_0_at_the_access_with_registers_unchanged()
    {
        var (fault, values) = RunProtected(GeneralProtection, a =>
        {
            a.mov(ax, SmallData);
            a.mov(ds, ax);
            a.mov(ecx, __dword_ptr[0xFFC]);
            ModeGuest.EmitReport(a, ecx);
            a.mov(ecx, 0x5555_5555);
            return () => a.mov(ecx, __dword_ptr[0xFFE]);
        }, guest =>
        {
            guest.SetDescriptor(SmallData, ModeGuest.Descriptor(0x1_0000, 0xFFF, 0x92, 0x4));
            guest.Memory.Write(new GuestAddress(0x1_0FFC), 0x0BAD_CAFEu);
        });

        Assert.Equal([0x0BAD_CAFEu], values);
        Assert.Equal((0u, 0x5555_5555u), (fault.ErrorCode, fault.Ecx));
        Assert.Equal(fault.AccessEip, fault.Eip);
    }

    [Fact]
    public void An_expand_down_segment_allows_offsets_above_its_limit_and_faults_at_or_below_it()
    {
        var (fault, values) = RunProtected(GeneralProtection, a =>
        {
            a.mov(ax, ExpandDownData);
            a.mov(ds, ax);
            a.mov(ecx, __dword_ptr[0x1000]);
            ModeGuest.EmitReport(a, ecx);
            return () => a.mov(ecx, __dword_ptr[0xFFE]);
        }, guest =>
        {
            guest.SetDescriptor(ExpandDownData, ModeGuest.Descriptor(0, 0xFFF, 0x96, 0x4));
            guest.Memory.Write(new GuestAddress(0x1000), 0x1357_9BDFu);
        });

        Assert.Equal([0x1357_9BDFu], values);
        Assert.Equal(0u, fault.ErrorCode);
        Assert.Equal(fault.AccessEip, fault.Eip);
    }

    [Fact]
    public void A_null_ds_loads_in_32_bit_protected_mode_but_an_access_through_it_raises_general_protection_0()
    {
        var (fault, values) = RunProtected(GeneralProtection, a =>
        {
            a.xor(eax, eax);
            a.mov(ds, ax);
            ModeGuest.EmitReport(a, eax);
            a.mov(ecx, 0x7777);
            return () => a.mov(ecx, __dword_ptr[0x8000]);
        });

        Assert.Equal([0u], values);
        Assert.Equal((0u, 0x7777u), (fault.ErrorCode, fault.Ecx));
        Assert.Equal(fault.AccessEip, fault.Eip);
    }

    [Fact]
    public unsafe void A_null_fs_leaves_flat_protected_mode_unchecked_yet_an_access_through_it_raises_general_protection_0()
    {
        using var guest = new ModeGuest();
        Label access = default;
        var labels = guest.Load(32, CodeAddress, a =>
        {
            access = a.CreateLabel();
            a.xor(eax, eax);
            a.mov(fs, ax);
            a.mov(ecx, __dword_ptr[0x9000]);
            a.Label(ref access);
            a.mov(ecx, __dword_ptr.fs[0x9000]);
            ModeGuest.EmitExit(a, 1);
        });
        guest.Load(32, HandlerAddress, a =>
        {
            a.pop(eax);
            ModeGuest.EmitReport(a, eax);
            a.pop(eax);
            ModeGuest.EmitReport(a, eax);
            ModeGuest.EmitExit(a, 0);
        });
        guest.SetProtectedModeGate((int)GeneralProtection, HandlerAddress);
        guest.StartInProtectedMode(CodeAddress);

        var exit = guest.RunFor(Timeout);

        Assert.True(guest.Io.ExitValue == 0, $"{exit}; exit value {guest.Io.ExitValue}; values {string.Join(", ", guest.Values)}");
        Assert.Equal([0u, (uint)labels(access)], guest.Values);
        Assert.Equal(0, guest.Cpu.State->SegmentChecks);
    }

    [Fact]
    public void A_32_bit_pop_past_the_ss_limit_raises_stack_fault_0_and_leaves_esp()
    {
        var (fault, _) = RunProtected(StackFault, a =>
        {
            a.mov(ax, SmallStack);
            a.mov(ss, ax);
            a.mov(esp, 0x6FFE);
            a.mov(ecx, 0x4444);
            return () => a.pop(ecx);
        }, guest => guest.SetDescriptor(SmallStack, ModeGuest.Descriptor(0, 0x6FFF, 0x92, 0x4)));

        Assert.Equal((0u, 0x4444u), (fault.ErrorCode, fault.Ecx));
        Assert.Equal(fault.AccessEip, fault.Eip);
        Assert.Equal(0x6FFEu, fault.Esp);
    }

    [Fact]
    public void A_ring_3_push_past_the_ss_limit_raises_stack_fault_0_on_the_ring_0_stack()
    {
        using var guest = new ModeGuest();
        guest.SetDescriptor(UserCode, ModeGuest.Descriptor(0, 0xF_FFFF, 0xFA, 0xC));
        guest.SetDescriptor(UserStack, ModeGuest.Descriptor(0, 0x6FFF, 0xF2, 0x4));

        // The boot TSS sits at linear 0 (the harness's TR): ESP0 and SS0 for the switch to ring 0 (SDM 3A §7.2.1).
        guest.Memory.Write(new GuestAddress(4), (uint)ModeGuest.StackTop);
        guest.Memory.Write(new GuestAddress(8), (uint)ModeGuest.Data32);
        const uint userCode = (uint)CodeAddress + 0x100;
        guest.Load(32, CodeAddress, a =>
        {
            a.push(UserStack);
            a.push(0x7002);
            a.push(0x2);
            a.push(UserCode);
            a.push(userCode);
            a.iretd();
        });
        Label push = default;
        var labels = guest.Load(32, userCode, a =>
        {
            push = a.CreateLabel();
            a.mov(eax, 0x2222);
            a.Label(ref push);
            a.push(eax);
            a.hlt();
        });
        guest.Load(32, HandlerAddress, a =>
        {
            a.pop(eax);
            ModeGuest.EmitReport(a, eax);
            a.pop(eax);
            ModeGuest.EmitReport(a, eax);
            a.add(esp, 8);
            a.pop(eax);
            ModeGuest.EmitReport(a, eax);
            ModeGuest.EmitExit(a, 0);
        });
        guest.SetProtectedModeGate((int)StackFault, HandlerAddress);
        guest.StartInProtectedMode(CodeAddress);

        var exit = guest.RunFor(Timeout);

        Assert.True(guest.Io.ExitValue == 0, $"{exit}; exit value {guest.Io.ExitValue}; values {string.Join(", ", guest.Values)}");
        Assert.Equal([0u, (uint)labels(push), 0x7002u], guest.Values);
    }

    [Fact]
    public void Stosb_past_the_es_limit_raises_general_protection_0_and_leaves_edi()
    {
        var (fault, _) = RunProtected(GeneralProtection, a =>
        {
            a.mov(ax, SmallData);
            a.mov(es, ax);
            a.mov(edi, 0xFFF);
            a.stosb();
            a.mov(ecx, edi);
            return () => a.stosb();
        }, guest => guest.SetDescriptor(SmallData, ModeGuest.Descriptor(0x1_0000, 0xFFF, 0x92, 0x4)));

        Assert.Equal((0u, 0x1000u, 0x1000u), (fault.ErrorCode, fault.Ecx, fault.Edi));
        Assert.Equal(fault.AccessEip, fault.Eip);
    }

    [Fact]
    public void Rep_stosb_stores_up_to_the_es_limit_then_raises_general_protection_0_with_the_count_left()
    {
        var (fault, _) = RunProtected(GeneralProtection, a =>
        {
            a.mov(ax, SmallData);
            a.mov(es, ax);
            a.mov(edi, 0xFF0);
            a.mov(ecx, 0x20);
            a.mov(al, 0xAB);
            return () => a.rep.stosb();
        }, guest => guest.SetDescriptor(SmallData, ModeGuest.Descriptor(0x1_0000, 0xFFF, 0x92, 0x4)));

        Assert.Equal((0u, 0x10u, 0x1000u), (fault.ErrorCode, fault.Ecx, fault.Edi));
        Assert.Equal(fault.AccessEip, fault.Eip);
    }

    [Fact]
    public void Rep_movsd_within_small_segments_copies_everything()
    {
        using var guest = new ModeGuest();
        guest.SetDescriptor(SmallData, ModeGuest.Descriptor(0x1_0000, 0xFFF, 0x92, 0x4));
        for (uint i = 0; i < 0x200; i++)
        {
            guest.Memory.Write(new GuestAddress(0x1_0000 + (i * 4)), 0x1000_0000u + i);
        }

        guest.Load(32, CodeAddress, a =>
        {
            a.mov(ax, SmallData);
            a.mov(ds, ax);
            a.mov(es, ax);
            a.xor(esi, esi);
            a.mov(edi, 0x800);
            a.mov(ecx, 0x200);
            a.rep.movsd();
            a.mov(eax, __dword_ptr[0xFFC]);
            ModeGuest.EmitReport(a, eax);
            ModeGuest.EmitReport(a, ecx);
            ModeGuest.EmitExit(a, 0);
        });
        guest.StartInProtectedMode(CodeAddress);

        var exit = guest.RunFor(Timeout);

        Assert.True(guest.Io.ExitValue == 0, $"{exit}; exit value {guest.Io.ExitValue}");
        Assert.Equal([0x1000_01FFu, 0u], guest.Values);
    }

    [Fact]
    public void A_read_only_ds_allows_reads_but_a_write_through_it_raises_general_protection_0()
    {
        var (fault, values) = RunProtected(GeneralProtection, a =>
        {
            a.mov(ax, ModeGuest.ReadOnlyData);
            a.mov(ds, ax);
            a.mov(ecx, __dword_ptr[0x9000]);
            ModeGuest.EmitReport(a, ecx);
            a.add(ecx, __dword_ptr[0x9000]);
            return () => a.add(__dword_ptr[0x9000], ecx);
        }, guest => guest.Memory.Write(new GuestAddress(0x9000), 0x100u));

        Assert.Equal([0x100u], values);
        Assert.Equal((0u, 0x200u), (fault.ErrorCode, fault.Ecx));
        Assert.Equal(fault.AccessEip, fault.Eip);
    }

    [Fact]
    public void Scasb_reads_a_read_only_es_but_stosb_to_it_raises_general_protection_0()
    {
        var (fault, _) = RunProtected(GeneralProtection, a =>
        {
            a.mov(ax, ModeGuest.ReadOnlyData);
            a.mov(es, ax);
            a.mov(edi, 0x9000);
            a.scasb();
            a.mov(ecx, edi);
            return () => a.stosb();
        });

        Assert.Equal((0u, 0x9001u, 0x9001u), (fault.ErrorCode, fault.Ecx, fault.Edi));
        Assert.Equal(fault.AccessEip, fault.Eip);
    }

    [Fact]
    public unsafe void Flat_protected_mode_and_64_bit_mode_run_without_segment_checks_and_real_mode_with_them()
    {
        using var guest = new ModeGuest();
        guest.StartInProtectedMode(CodeAddress);
        Assert.Equal(0, guest.Cpu.State->SegmentChecks);
        guest.StartInLongMode(CodeAddress);
        Assert.Equal(0, guest.Cpu.State->SegmentChecks);
        guest.StartInRealMode(RealCodeSegment, 0);
        Assert.Equal(1, guest.Cpu.State->SegmentChecks);
    }

    [Fact]
    public void Sixty_four_bit_mode_ignores_the_limit_of_a_segment_loaded_into_ds()
    {
        using var guest = new ModeGuest();
        guest.SetDescriptor(SmallData, ModeGuest.Descriptor(0x1_0000, 0xFFF, 0x92, 0x4));
        guest.Memory.Write(new GuestAddress(0x9000), 0x2468_ACE0u);
        guest.Load(64, CodeAddress, a =>
        {
            a.mov(ax, SmallData);
            a.mov(ds, ax);
            a.mov(ecx, __dword_ptr[0x9000]);
            ModeGuest.EmitReport(a, ecx);
            ModeGuest.EmitExit(a, 0);
        });
        guest.StartInLongMode(CodeAddress);

        var exit = guest.RunFor(Timeout);

        Assert.True(guest.Io.ExitValue == 0, $"{exit}; exit value {guest.Io.ExitValue}");
        Assert.Equal([0x2468_ACE0u], guest.Values);
    }

    /// <summary>
    /// Runs 16-bit real-mode code at <see cref="RealCodeSegment"/>:0 with DS = SS = 0, whose last instruction (the one
    /// <paramref name="program"/> returns) must fault with <paramref name="vector"/>; the IVT handler reports the
    /// pushed IP, then ECX and SP if asked.
    /// </summary>
    private static (Vessel.Core.Accel.VcpuExit Exit, List<uint> Values, ulong Access) RunRealMode(
        int vector, Func<Assembler, Action> program, bool reportEcx = false, bool reportSp = false)
    {
        using var guest = new ModeGuest();
        Label handler = default, access = default;
        var labels = guest.Load(16, (ulong)RealCodeSegment << 4, a =>
        {
            handler = a.CreateLabel();
            access = a.CreateLabel();
            a.xor(ax, ax);
            a.mov(ds, ax);
            a.mov(ss, ax);
            a.mov(sp, (ushort)ModeGuest.StackTop);
            var faulting = program(a);
            a.Label(ref access);
            faulting();
            ModeGuest.EmitExit(a, 1);

            a.Label(ref handler);
            a.mov(dx, sp);
            a.mov(bp, sp);
            a.movzx(eax, __word_ptr[bp]);
            ModeGuest.EmitReport(a, eax);
            if (reportEcx)
            {
                ModeGuest.EmitReport(a, ecx);
            }

            if (reportSp)
            {
                a.movzx(eax, dx);
                ModeGuest.EmitReport(a, eax);
            }

            ModeGuest.EmitExit(a, 0);
        }, origin: 0);
        guest.SetRealModeVector(vector, RealCodeSegment, (ushort)labels(handler));
        guest.StartInRealMode(RealCodeSegment, 0);

        var exit = guest.RunFor(Timeout);

        Assert.True(guest.Io.ExitValue == 0, $"{exit}; exit value {guest.Io.ExitValue}; values {string.Join(", ", guest.Values)}");
        return (exit, guest.Values, labels(access));
    }

    private readonly record struct Fault(uint ErrorCode, uint Eip, uint Ecx, uint Esp, uint Edi, uint AccessEip);

    /// <summary>
    /// Runs flat 32-bit protected-mode code whose last instruction (the one <paramref name="program"/> returns) must
    /// fault with <paramref name="vector"/>; the handler reports the error code, EIP, ECX, the ESP before its frame (same privilege: no SS:ESP pushed)
    /// and EDI. Values the program reports come back separately.
    /// </summary>
    private static (Fault Fault, List<uint> Values) RunProtected(
        uint vector, Func<Assembler, Action> program, Action<ModeGuest>? setup = null)
    {
        using var guest = new ModeGuest();
        setup?.Invoke(guest);
        Label access = default;
        var labels = guest.Load(32, CodeAddress, a =>
        {
            access = a.CreateLabel();
            var faulting = program(a);
            a.Label(ref access);
            faulting();
            ModeGuest.EmitExit(a, 1);
        });
        guest.Load(32, HandlerAddress, a =>
        {
            a.lea(edx, __[esp + 16]);
            a.pop(eax);
            ModeGuest.EmitReport(a, eax);
            a.pop(eax);
            ModeGuest.EmitReport(a, eax);
            ModeGuest.EmitReport(a, ecx);
            ModeGuest.EmitReport(a, edx);
            ModeGuest.EmitReport(a, edi);
            ModeGuest.EmitExit(a, 0);
        });
        guest.SetProtectedModeGate((int)vector, HandlerAddress);
        guest.StartInProtectedMode(CodeAddress);

        var exit = guest.RunFor(Timeout);

        var values = guest.Values;
        Assert.True(guest.Io.ExitValue == 0 && values.Count >= 5, $"{exit}; exit value {guest.Io.ExitValue}; values {string.Join(", ", values)}");
        var tail = values[^5..];
        return (new Fault(tail[0], tail[1], tail[2], tail[3], tail[4], (uint)labels(access)), values[..^5]);
    }
}
