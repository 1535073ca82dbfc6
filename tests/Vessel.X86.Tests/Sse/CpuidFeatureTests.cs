using Vessel.Core.Memory;
using Vessel.X86.Cpu;
using Vessel.X86.Tests.Guests;
using static Iced.Intel.AssemblerRegisters;

namespace Vessel.X86.Tests.Sse;

public class CpuidFeatureTests
{
    [Fact]
    public void Cpuid_advertises_the_FPU_MMX_FXSR_and_SSE_through_SSE4_2_and_not_XSAVE_or_AVX()
    {
        using var guest = new LongModeGuest(a =>
        {
            a.mov(eax, 1);
            a.cpuid();
            a.mov(__dword_ptr[LongModeGuest.DataAddress], edx);
            a.mov(__dword_ptr[LongModeGuest.DataAddress + 4], ecx);
            LongModeGuest.EmitExit(a, 0);
        });
        guest.Run();
        var features = (CpuidFeatures1Edx)guest.Memory.Read<uint>(new GuestAddress(LongModeGuest.DataAddress));
        var extended = guest.Memory.Read<uint>(new GuestAddress(LongModeGuest.DataAddress + 4));
        var required = CpuidFeatures1Edx.FloatingPointUnit | CpuidFeatures1Edx.Mmx | CpuidFeatures1Edx.Fxsr | CpuidFeatures1Edx.Sse | CpuidFeatures1Edx.Sse2;
        Assert.Equal(required, features & required);
        var sse = CpuidFeatures1Ecx.Sse3 | CpuidFeatures1Ecx.Ssse3 | CpuidFeatures1Ecx.Sse41 | CpuidFeatures1Ecx.Sse42;
        Assert.Equal((uint)sse, extended & (uint)sse);
        const uint xsave = 1u << 26;
        const uint osxsave = 1u << 27;
        const uint avx = 1u << 28;
        Assert.Equal(0u, extended & (xsave | osxsave | avx));
    }
}
