using Vessel.X86.Tests.Modes;
using static Iced.Intel.AssemblerRegisters;

namespace Vessel.X86.Tests.Execution;

/// <summary>RFLAGS bits 3, 5 and 15 do not exist: an IRET or POPF image that sets them leaves them zero (SDM 1 §3.4.3).</summary>
public class ReservedFlagBitTests
{
    [Fact]
    public void A_real_mode_iret_image_with_reserved_bits_set_reads_back_without_them()
    {
        using var guest = new ModeGuest();
        guest.Load(16, 0x1000, a =>
        {
            a.xor(ax, ax);
            a.mov(ss, ax);
            a.mov(sp, (ushort)ModeGuest.StackTop);
            a.push((ushort)0x80EB); // FLAGS image: bits 15, 7 (SF), 6 (ZF), 5, 3, 1, 0 (CF)
            a.push((ushort)0);
            a.push((ushort)0x2000);
            a.iret();
        });
        guest.Load(16, 0x2000, a =>
        {
            a.pushf();
            a.pop(ax);
            a.movzx(eax, ax);
            ModeGuest.EmitReport(a, eax);
            a.push((ushort)0xFEFF); // all ones but TF, which would single-step
            a.popf();
            a.pushf();
            a.pop(ax);
            a.movzx(eax, ax);
            ModeGuest.EmitReport(a, eax);
            ModeGuest.EmitExit(a, 0);
        });
        guest.StartInRealMode(0, 0x1000);

        var exit = guest.RunFor(TimeSpan.FromSeconds(20));

        Assert.True(guest.Io.ExitValue == 0, exit.ToString());

        // IRET: CF, ZF, SF and the always-one bit 1. POPF of all ones but TF: every other defined bit of FLAGS (IF, IOPL, NT at CPL 0).
        Assert.Equal([0x00C3u, 0x7ED7u], guest.Values);
    }
}
