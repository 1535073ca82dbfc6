using Vessel.Core.Accel;
using Vessel.Kvm.Interop;

namespace Vessel.Kvm.Boot;

/// <summary>Maps the accelerator-neutral <see cref="VcpuBootState"/> onto KVM's register structures.</summary>
internal static class KvmBootState
{
    /// <summary>FNINIT's control word: all x87 exceptions masked, 64-bit precision, round to nearest.</summary>
    public const ushort FpuControlWordAfterInit = 0x37F;

    /// <summary>MXCSR after reset: all SSE exceptions masked.</summary>
    public const uint MxcsrAfterReset = 0x1F80;

    /// <summary>A busy 32/64-bit TSS type, which VM entry insists TR holds (Intel SDM 3C §27.3.1.2).</summary>
    private const byte BusyTssType = 11;

    public static KvmRegs ToRegs(VcpuBootState state) => new()
    {
        Rax = state.Rax,
        Rbx = state.Rbx,
        Rcx = state.Rcx,
        Rdx = state.Rdx,
        Rsi = state.Rsi,
        Rdi = state.Rdi,
        Rsp = state.Rsp,
        Rbp = state.Rbp,
        Rip = state.Rip,
        Rflags = state.Rflags | 0x2,
    };

    /// <summary>Writes the boot state into <paramref name="sregs"/>, keeping the APIC base KVM_GET_SREGS returned (zero would disable the LAPIC).</summary>
    public static void ApplyToSregs(VcpuBootState state, ref KvmSregs sregs)
    {
        sregs.Cs = ToSegment(state.Cs);
        sregs.Ds = ToSegment(state.Ds);
        sregs.Es = ToSegment(state.Es);
        sregs.Fs = ToSegment(state.Fs);
        sregs.Gs = ToSegment(state.Gs);
        sregs.Ss = ToSegment(state.Ss);
        sregs.Ldt = ToSegment(state.Ldtr);
        sregs.Tr = ToSegment(state.Tr);
        if (sregs.Tr.Present == 0)
        {
            // A boot state that leaves TR empty still needs a usable busy TSS for VM entry: give it the reset value.
            sregs.Tr = new KvmSegment { Limit = 0xFFFF, Type = BusyTssType, Present = 1 };
        }

        sregs.Gdt = new KvmDtable { Base = state.Gdt.Base, Limit = state.Gdt.Limit };
        sregs.Idt = new KvmDtable { Base = state.Idt.Base, Limit = state.Idt.Limit };
        sregs.Cr0 = state.Cr0;
        sregs.Cr2 = 0;
        sregs.Cr3 = state.Cr3;
        sregs.Cr4 = state.Cr4;
        sregs.Cr8 = 0;
        sregs.Efer = state.Efer;
        for (int i = 0; i < KvmConstants.InterruptBitmapWords; i++)
        {
            SetInterruptBitmapWord(ref sregs, i, 0);
        }
    }

    public static KvmSegment ToSegment(SegmentState segment)
    {
        int attributes = (int)segment.Attributes;
        bool present = (segment.Attributes & SegmentAttributes.Present) != 0;
        return new KvmSegment
        {
            Base = segment.Base,
            Limit = segment.Limit,
            Selector = segment.Selector,
            Type = (byte)(attributes & 0xF),
            S = Bit(segment.Attributes, SegmentAttributes.CodeOrData),
            Dpl = (byte)segment.DescriptorPrivilegeLevel,
            Present = present ? (byte)1 : (byte)0,
            Avl = Bit(segment.Attributes, SegmentAttributes.Available),
            L = Bit(segment.Attributes, SegmentAttributes.Long),
            Db = Bit(segment.Attributes, SegmentAttributes.DefaultBig),
            G = Bit(segment.Attributes, SegmentAttributes.Granularity),
            Unusable = present ? (byte)0 : (byte)1,
        };
    }

    public static KvmFpu InitialFpu() => new() { Fcw = FpuControlWordAfterInit, Mxcsr = MxcsrAfterReset };

    /// <summary>The MSRs firmware would have initialized before handing over to a kernel.</summary>
    public static KvmMsrEntry[] InitialMsrs() =>
    [
        Msr(ModelSpecificRegister.SysenterCs, 0),
        Msr(ModelSpecificRegister.SysenterEsp, 0),
        Msr(ModelSpecificRegister.SysenterEip, 0),
        Msr(ModelSpecificRegister.Star, 0),
        Msr(ModelSpecificRegister.CompatibilityModeStar, 0),
        Msr(ModelSpecificRegister.KernelGsBase, 0),
        Msr(ModelSpecificRegister.SyscallFlagMask, 0),
        Msr(ModelSpecificRegister.LongModeStar, 0),
        Msr(ModelSpecificRegister.TimeStampCounter, 0),
        Msr(ModelSpecificRegister.MiscEnable, ModelSpecificRegister.MiscEnableFastStrings),
        Msr(ModelSpecificRegister.MtrrDefaultType, ModelSpecificRegister.MtrrEnabledWriteBack),
    ];

    private static unsafe void SetInterruptBitmapWord(ref KvmSregs sregs, int index, ulong value)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)KvmConstants.InterruptBitmapWords, nameof(index));

        // Safety: index was checked against the bitmap's four words above.
        sregs.InterruptBitmap[index] = value;
    }

    private static KvmMsrEntry Msr(uint index, ulong value) => new() { Index = index, Data = value };

    private static byte Bit(SegmentAttributes attributes, SegmentAttributes bit) => (attributes & bit) != 0 ? (byte)1 : (byte)0;
}
