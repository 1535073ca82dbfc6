using Iced.Intel;
using Vessel.Core.Accel;
using Vessel.X86.Cpu.Decoding;

namespace Vessel.X86.Cpu.Execution;

/// <summary>
/// Fast system calls: SYSCALL/SYSRET (STAR, LSTAR, FMASK), SYSENTER/SYSEXIT (IA32_SYSENTER_*), and SWAPGS
/// (Intel SDM 2, under each mnemonic). These load fixed flat segments without reading the GDT, as the hardware does.
/// RDFSBASE and friends are not offered (CPUID.7.0:EBX.FSGSBASE is clear, CR4.FSGSBASE cannot be set): #UD.
/// </summary>
public static unsafe class SystemCalls
{
    private const SegmentAttributes FlatCode = SegmentAttributes.Present | SegmentAttributes.CodeOrData | SegmentAttributes.Executable
        | SegmentAttributes.ReadableOrWritable | SegmentAttributes.Accessed | SegmentAttributes.Granularity;

    private const SegmentAttributes FlatData = SegmentAttributes.Present | SegmentAttributes.CodeOrData
        | SegmentAttributes.ReadableOrWritable | SegmentAttributes.Accessed | SegmentAttributes.Granularity | SegmentAttributes.DefaultBig;

    private const SegmentAttributes UserPrivilege = SegmentAttributes.DplMask;

    public static void Register(HandlerTable table)
    {
        table.Add(Code.Syscall, &SystemCall);
        table.Add(Code.Sysretd, &SystemReturn);
        table.Add(Code.Sysretq, &SystemReturn);
        table.Add(Code.Sysenter, &SystemEnter);
        table.Add(Code.Sysexitd, &SystemExit);
        table.Add(Code.Sysexitq, &SystemExit);
        table.Add(Code.Swapgs, &SwapGsBase);
        foreach (var code in new[]
        {
            Code.Rdfsbase_r32, Code.Rdfsbase_r64, Code.Rdgsbase_r32, Code.Rdgsbase_r64,
            Code.Wrfsbase_r32, Code.Wrfsbase_r64, Code.Wrgsbase_r32, Code.Wrgsbase_r64,
        })
        {
            table.Add(code, &FsGsBaseNotEnabled);
        }
    }

    private static bool SystemCallsEnabled(Cpu cpu) => (cpu.Efer & EferBits.SystemCallEnable) != 0;

    /// <summary>
    /// SYSCALL: RCX = return RIP, R11 = RFLAGS, CS/SS from STAR[47:32], RIP = LSTAR, RFLAGS &amp;= ~FMASK. Intel executes
    /// it only in 64-bit mode (#UD elsewhere, compatibility mode included); AMD also from compatibility mode, entering
    /// 64-bit code at CSTAR, and from legacy mode (AMD APM 3, SYSCALL).
    /// </summary>
    private static void SystemCall(Cpu cpu, DecodedInstruction* instruction)
    {
        if (!SystemCallsEnabled(cpu) || (cpu.CodeBits != 64 && !cpu.Cpuid.IsAmd) || !cpu.ProtectedMode)
        {
            cpu.RaiseInvalidOpcode();
            return;
        }

        if (!cpu.LongMode)
        {
            LegacySystemCall(cpu);
            return;
        }

        var s = cpu.State;
        ulong flags = cpu.Rflags;
        ulong target = cpu.CodeBits == 64 ? cpu.LongStar : cpu.CompatibilityStar;
        s->Gpr[1] = cpu.Rip;
        s->Gpr[11] = flags & ~(ulong)RflagsBits.Resume;
        ushort selector = (ushort)(cpu.Star >> 32);
        cpu.SetSegmentCache(SegmentRegister.CS, new SegmentState((ushort)(selector & 0xFFFC), 0, 0xFFFF_FFFF, FlatCode | SegmentAttributes.Long));
        cpu.SetSegmentCache(SegmentRegister.SS, new SegmentState((ushort)((selector + 8) & 0xFFFC), 0, 0xFFFF_FFFF, FlatData));
        cpu.Rflags = flags & ~(cpu.SyscallFlagMask | (ulong)RflagsBits.Resume);
        cpu.Rip = target;
        cpu.NoteTrapFlagAfterSystemCall();
        cpu.StopBlock();
    }

    /// <summary>AMD's legacy-mode SYSCALL (AMD APM 3): ECX = return EIP, 32-bit flat CS/SS from STAR[47:32], EIP = STAR[31:0]; VM, IF and RF cleared.</summary>
    private static void LegacySystemCall(Cpu cpu)
    {
        cpu.State->Gpr[1] = (uint)cpu.Rip;
        ushort selector = (ushort)(cpu.Star >> 32);
        cpu.SetSegmentCache(SegmentRegister.CS, new SegmentState((ushort)(selector & 0xFFFC), 0, 0xFFFF_FFFF, FlatCode | SegmentAttributes.DefaultBig));
        cpu.SetSegmentCache(SegmentRegister.SS, new SegmentState((ushort)((selector + 8) & 0xFFFC), 0, 0xFFFF_FFFF, FlatData));
        cpu.Rflags &= ~(ulong)(RflagsBits.Virtual8086 | RflagsBits.InterruptEnable | RflagsBits.Resume);
        cpu.Rip = (uint)cpu.Star;
        cpu.NoteTrapFlagAfterSystemCall();
        cpu.StopBlock();
    }

    /// <summary>
    /// SYSRET: back to CPL 3 in 64-bit code (REX.W, CS = STAR[63:48]+16) or compatibility code (CS = STAR[63:48]),
    /// SS = STAR[63:48]+8, RIP = RCX, RFLAGS = R11. A non-canonical RCX is #GP(0) taken at CPL 0, as on Intel.
    /// </summary>
    private static void SystemReturn(Cpu cpu, DecodedInstruction* instruction)
    {
        if (!SystemCallsEnabled(cpu) || cpu.CodeBits != 64)
        {
            cpu.RaiseInvalidOpcode();
            return;
        }

        if (cpu.CurrentPrivilegeLevel != 0)
        {
            cpu.RaiseGeneralProtection(0);
            return;
        }

        var s = cpu.State;
        bool to64 = instruction->Iced.Code == Code.Sysretq;
        ulong target = to64 ? s->Gpr[1] : (uint)s->Gpr[1];
        if (!Cpu.IsCanonical(target))
        {
            cpu.RaiseGeneralProtection(0);
            return;
        }

        ushort selector = (ushort)(cpu.Star >> 48);
        var codeAttributes = FlatCode | UserPrivilege | (to64 ? SegmentAttributes.Long : SegmentAttributes.DefaultBig);
        ushort codeSelector = (ushort)((to64 ? selector + 16 : selector) | 3);
        cpu.Rflags = (s->Gpr[11] & 0x3C_7FD7UL) | (ulong)RflagsBits.Reserved1;
        cpu.SetSegmentCache(SegmentRegister.CS, new SegmentState(codeSelector, 0, 0xFFFF_FFFF, codeAttributes));
        cpu.SetSegmentCache(SegmentRegister.SS, new SegmentState((ushort)((selector + 8) | 3), 0, 0xFFFF_FFFF, FlatData | UserPrivilege));
        cpu.Rip = target;
        cpu.NoteTrapFlagAfterSystemCall();
        cpu.StopBlock();
    }

    /// <summary>
    /// SYSENTER: CPL 0 with CS = SYSENTER_CS, SS = CS+8, RIP/RSP from SYSENTER_EIP/ESP; VM, IF and RF cleared.
    /// AMD CPUs do not have it in long mode, 64-bit or compatibility (AMD APM 3, SYSENTER: #UD).
    /// </summary>
    private static void SystemEnter(Cpu cpu, DecodedInstruction* instruction)
    {
        if (cpu.LongMode && cpu.Cpuid.IsAmd)
        {
            cpu.RaiseInvalidOpcode();
            return;
        }

        ushort selector = (ushort)cpu.SysenterCs;
        if (!cpu.ProtectedMode || (selector & 0xFFFC) == 0)
        {
            cpu.RaiseGeneralProtection(0);
            return;
        }

        bool longMode = cpu.LongMode;
        cpu.Rflags &= ~(ulong)(RflagsBits.Virtual8086 | RflagsBits.InterruptEnable | RflagsBits.Resume);
        var codeAttributes = FlatCode | (longMode ? SegmentAttributes.Long : SegmentAttributes.DefaultBig);
        cpu.SetSegmentCache(SegmentRegister.CS, new SegmentState((ushort)(selector & 0xFFFC), 0, 0xFFFF_FFFF, codeAttributes));
        cpu.SetSegmentCache(SegmentRegister.SS, new SegmentState((ushort)((selector + 8) & 0xFFFC), 0, 0xFFFF_FFFF, FlatData));
        cpu.State->Gpr[4] = longMode ? cpu.SysenterEsp : (uint)cpu.SysenterEsp;
        cpu.Rip = longMode ? cpu.SysenterEip : (uint)cpu.SysenterEip;
        cpu.StopBlock();
    }

    /// <summary>
    /// SYSEXIT: CPL 3 with RIP = RDX, RSP = RCX; CS = SYSENTER_CS+16 (32-bit) or +32 (64-bit, REX.W), SS = CS+8.
    /// #UD in long mode on AMD, as SYSENTER.
    /// </summary>
    private static void SystemExit(Cpu cpu, DecodedInstruction* instruction)
    {
        if (cpu.LongMode && cpu.Cpuid.IsAmd)
        {
            cpu.RaiseInvalidOpcode();
            return;
        }

        ushort selector = (ushort)cpu.SysenterCs;
        if (!cpu.ProtectedMode || (selector & 0xFFFC) == 0 || cpu.CurrentPrivilegeLevel != 0)
        {
            cpu.RaiseGeneralProtection(0);
            return;
        }

        var s = cpu.State;
        bool to64 = instruction->Iced.Code == Code.Sysexitq;
        ulong rip = to64 ? s->Gpr[2] : (uint)s->Gpr[2];
        ulong rsp = to64 ? s->Gpr[1] : (uint)s->Gpr[1];
        if (to64 && (!Cpu.IsCanonical(rip) || !Cpu.IsCanonical(rsp)))
        {
            cpu.RaiseGeneralProtection(0);
            return;
        }

        ushort codeSelector = (ushort)((selector + (to64 ? 32 : 16)) | 3);
        var codeAttributes = FlatCode | UserPrivilege | (to64 ? SegmentAttributes.Long : SegmentAttributes.DefaultBig);
        cpu.SetSegmentCache(SegmentRegister.CS, new SegmentState(codeSelector, 0, 0xFFFF_FFFF, codeAttributes));
        cpu.SetSegmentCache(SegmentRegister.SS, new SegmentState((ushort)(codeSelector + 8), 0, 0xFFFF_FFFF, FlatData | UserPrivilege));
        s->Gpr[4] = rsp;
        cpu.Rip = rip;
        cpu.StopBlock();
    }

    /// <summary>SWAPGS exchanges GS.base with IA32_KERNEL_GS_BASE; 64-bit mode only (#UD), CPL 0 only (#GP(0)).</summary>
    private static void SwapGsBase(Cpu cpu, DecodedInstruction* instruction)
    {
        if (cpu.CodeBits != 64)
        {
            cpu.RaiseInvalidOpcode();
            return;
        }

        if (cpu.CurrentPrivilegeLevel != 0)
        {
            cpu.RaiseGeneralProtection(0);
            return;
        }

        ulong gsBase = cpu.Segment(SegmentRegister.GS).Base;
        cpu.SetSegmentBase(SegmentRegister.GS, cpu.KernelGsBase);
        cpu.KernelGsBase = gsBase;
    }

    private static void FsGsBaseNotEnabled(Cpu cpu, DecodedInstruction* instruction) => cpu.RaiseInvalidOpcode();
}
