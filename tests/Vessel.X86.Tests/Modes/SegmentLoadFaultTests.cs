using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Vessel.X86.Tests.Modes;

/// <summary>
/// Segment loads in 32-bit protected mode that fail the descriptor checks of Intel SDM 2 "MOV" (segment forms) and "JMP"
/// (far forms): each fault arrives through a 32-bit IDT gate with the vector, error code and faulting EIP the SDM gives,
/// and leaves the segment register unchanged.
/// </summary>
public class SegmentLoadFaultTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private const ulong CodeAddress = 0x3000;
    private const ulong StubsAddress = 0x6000;
    private const ulong CommonHandlerAddress = 0x6800;
    private const int StubStride = 32;

    private const uint NotPresent = 11;
    private const uint StackFault = 12;
    private const uint GeneralProtection = 13;

    [Fact]
    public void Loading_a_not_present_data_segment_into_ds_raises_not_present_with_the_selector()
    {
        var fault = RunFaulting(a =>
        {
            a.mov(ax, ModeGuest.NotPresentData);
            return () => a.mov(ds, ax);
        });

        Assert.Equal((NotPresent, (uint)ModeGuest.NotPresentData), (fault.Vector, fault.ErrorCode));
    }

    [Fact]
    public void Loading_a_null_selector_into_ss_in_32_bit_protected_mode_raises_general_protection_with_error_code_0()
    {
        var fault = RunFaulting(a =>
        {
            a.xor(eax, eax);
            return () => a.mov(ss, ax);
        });

        Assert.Equal((GeneralProtection, 0u), (fault.Vector, fault.ErrorCode));
    }

    [Fact]
    public void Loading_a_selector_beyond_the_gdt_limit_raises_general_protection_with_the_selector()
    {
        var fault = RunFaulting(a =>
        {
            a.mov(ax, 0x80);
            return () => a.mov(es, ax);
        });

        Assert.Equal((GeneralProtection, 0x80u), (fault.Vector, fault.ErrorCode));
    }

    [Fact]
    public void Loading_a_read_only_data_segment_into_ss_raises_general_protection_with_the_selector()
    {
        var fault = RunFaulting(a =>
        {
            a.mov(ax, ModeGuest.ReadOnlyData);
            return () => a.mov(ss, ax);
        });

        Assert.Equal((GeneralProtection, (uint)ModeGuest.ReadOnlyData), (fault.Vector, fault.ErrorCode));
    }

    [Fact]
    public void Loading_a_not_present_writable_segment_into_ss_raises_stack_fault_with_the_selector()
    {
        var fault = RunFaulting(a =>
        {
            a.mov(ax, ModeGuest.NotPresentData);
            return () => a.mov(ss, ax);
        });

        Assert.Equal((StackFault, (uint)ModeGuest.NotPresentData), (fault.Vector, fault.ErrorCode));
    }

    [Fact]
    public void A_selector_whose_rpl_exceeds_the_data_segment_dpl_raises_general_protection_without_the_rpl_bits()
    {
        var fault = RunFaulting(a =>
        {
            a.mov(ax, ModeGuest.Data32 | 3);
            return () => a.mov(ds, ax);
        });

        Assert.Equal((GeneralProtection, (uint)ModeGuest.Data32), (fault.Vector, fault.ErrorCode));
    }

    [Fact]
    public void A_far_jump_to_a_not_present_code_segment_raises_not_present_with_the_selector()
    {
        var fault = RunFaulting(a => () => a.jmp(ModeGuest.NotPresentCode, (uint)CodeAddress));

        Assert.Equal((NotPresent, (uint)ModeGuest.NotPresentCode), (fault.Vector, fault.ErrorCode));
        Assert.Equal(ModeGuest.Code32, fault.Cs);
    }

    private readonly record struct Fault(uint Vector, uint ErrorCode, ushort Cs);

    /// <summary>
    /// Runs 32-bit code that sets up with <paramref name="program"/> and then emits the faulting instruction the returned
    /// action assembles; checks the fault was taken at that instruction with DS, ES and SS unchanged, and returns it.
    /// </summary>
    private static Fault RunFaulting(Func<Assembler, Action> program)
    {
        using var guest = new ModeGuest();
        Label faulting = default;
        var labels = guest.Load(32, CodeAddress, a =>
        {
            faulting = a.CreateLabel();
            ModeGuest.EmitCheckpoint(a, 1);
            var emitFault = program(a);
            a.Label(ref faulting);
            emitFault();
            ModeGuest.EmitCheckpoint(a, 2);
            ModeGuest.EmitExit(a, 1);
        });

        foreach (uint vector in (ReadOnlySpan<uint>)[NotPresent, StackFault, GeneralProtection])
        {
            ulong stub = StubsAddress + (vector * StubStride);
            guest.Load(32, stub, a =>
            {
                a.push(vector);
                a.jmp(CommonHandlerAddress);
            });
            guest.SetProtectedModeGate((int)vector, stub);
        }

        // The frame under the vector: error code, EIP, CS, EFLAGS (SDM 3A §6.13, Figure 6-4).
        guest.Load(32, CommonHandlerAddress, a =>
        {
            for (int i = 0; i < 4; i++)
            {
                a.pop(eax);
                ModeGuest.EmitReport(a, eax);
            }

            foreach (var segment in new[] { ds, es, ss })
            {
                a.mov(ax, segment);
                a.movzx(eax, ax);
                ModeGuest.EmitReport(a, eax);
            }

            ModeGuest.EmitExit(a, 0);
        });
        guest.StartInProtectedMode(CodeAddress);

        var exit = guest.RunFor(Timeout);

        Assert.True(guest.Io.ExitValue == 0, $"{exit}; checkpoints {string.Join(",", guest.Checkpoints)}, values {string.Join(",", guest.Values.Select(v => v.ToString("x")))}");
        Assert.Equal([1u], guest.Checkpoints);
        var values = guest.Values;
        Assert.Equal(7, values.Count);
        Assert.Equal(labels(faulting), values[2]);
        Assert.Equal([(uint)ModeGuest.Data32, ModeGuest.Data32, ModeGuest.Data32], values[4..]);
        return new Fault(values[0], values[1], (ushort)values[3]);
    }
}
