using Vessel.X86.Tests.Guests;

namespace Vessel.X86.Tests.Fpu;

public class FpuResetTests
{
    [Fact]
    public unsafe void Boot_state_leaves_the_FPU_initialized_and_MXCSR_at_its_reset_value()
    {
        using var guest = new LongModeGuest(a => LongModeGuest.EmitExit(a, 0));
        var fpu = guest.Cpu.Fpu;
        Assert.Equal(0x037F, fpu->ControlWord);
        Assert.Equal(0, fpu->FullStatusWord);
        Assert.Equal(0, fpu->TagValid);
        Assert.Equal(0x1F80u, fpu->Mxcsr);
        for (int i = 0; i < 32; i++)
        {
            Assert.Equal(0UL, fpu->Xmm[i]);
        }
    }

    [Fact]
    public unsafe void Reset_clears_state_the_guest_left_behind()
    {
        using var guest = new LongModeGuest(a => LongModeGuest.EmitExit(a, 0));
        var fpu = guest.Cpu.Fpu;
        fpu->Mxcsr = 0x7F80;
        fpu->ControlWord = 0x0C7F;
        fpu->TagValid = 0xFF;
        fpu->Xmm[5] = 42;
        guest.Cpu.Reset();
        Assert.Equal(0x037F, fpu->ControlWord);
        Assert.Equal(0, fpu->TagValid);
        Assert.Equal(0x1F80u, fpu->Mxcsr);
        Assert.Equal(0UL, fpu->Xmm[5]);
    }
}
