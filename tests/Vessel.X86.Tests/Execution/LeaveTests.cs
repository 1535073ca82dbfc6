using Vessel.X86.Tests.Modes;
using static Iced.Intel.AssemblerRegisters;

namespace Vessel.X86.Tests.Execution;

/// <summary>LEAVE pops the frame pointer at its operand size, whatever the code size (SDM 2 LEAVE).</summary>
public class LeaveTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    [Fact]
    public void An_operand_size_prefixed_leave_in_real_mode_pops_a_32_bit_frame_pointer()
    {
        // gcc -m16 code (kvm-unit-tests' realmode) ends frames with "66 c9": a LEAVE that popped two bytes left SP two
        // short and the next RETL returned into garbage.
        using var guest = new ModeGuest();
        guest.Load(16, 0x1000, a =>
        {
            a.xor(ax, ax);
            a.mov(ss, ax);
            a.mov(esp, (uint)ModeGuest.StackTop);
            a.mov(ebp, 0x1234_5678);
            a.push(ebp);
            a.mov(ebp, esp);
            a.sub(esp, 8);
            a.db(0x66, 0xC9); // o32 LEAVE in 16-bit code

            ModeGuest.EmitReport(a, esp);
            ModeGuest.EmitReport(a, ebp);
            ModeGuest.EmitExit(a, 0);
        });
        guest.StartInRealMode(0, 0x1000);

        var exit = guest.RunFor(Timeout);

        Assert.True(guest.Io.ExitValue == 0, exit.ToString());
        Assert.Equal([(uint)ModeGuest.StackTop, 0x1234_5678u], guest.Values);
    }
}
