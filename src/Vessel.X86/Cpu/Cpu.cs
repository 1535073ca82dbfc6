using System.Runtime.CompilerServices;
using Vessel.X86.Cpu.Paging;
using System.Runtime.InteropServices;
using Vessel.Core.Accel;
using Vessel.Core.Logging;
using Vessel.Core.Memory;
using Vessel.X86.Cpu.Decoding;
using Vessel.X86.Cpu.Fpu;

namespace Vessel.X86.Cpu;

/// <summary>
/// One x86-64 logical processor: an interpreter over decoded, cached blocks (see DESIGN.md "The software CPU").
/// Split by concern across partial files: flags, memory and TLB, paging, control registers, exceptions, the run loop.
/// </summary>
public sealed unsafe partial class Cpu : IDisposable
{
    private readonly GuestMemory memory;
    private readonly IVcpuIo io;
    private readonly IMachineLog log;
    private readonly CodeCache codeCache;
    private readonly SegmentState[] segments = new SegmentState[6];
    private bool disposed;

    public Cpu(GuestMemory memory, CodeCache codeCache, IVcpuIo io, IMachineLog log, CpuidTemplate? cpuid = null, int apicId = 0)
    {
        this.memory = memory;
        this.codeCache = codeCache;
        this.io = io;
        this.log = log;
        Cpuid = cpuid ?? CpuidTemplate.Default;
        ApicId = apicId;
        State = (CpuState*)NativeMemory.AlignedAlloc((nuint)sizeof(CpuState), 64);
        *State = default;
        Fpu = (FpuState*)NativeMemory.AlignedAlloc((nuint)sizeof(FpuState), 64);
        Fpu->Initialize();
        tlb = (TlbEntry*)NativeMemory.AlignedAlloc((nuint)(sizeof(TlbEntry) * TlbEntriesTotal), 64);
        FlushTlb(includeGlobal: true);
        Reset();
    }

    /// <summary>The hot architectural state; valid until the CPU is disposed.</summary>
    public CpuState* State { get; }

    public CpuidTemplate Cpuid { get; }

    public int ApicId { get; }

    public GuestMemory Memory => memory;

    public IVcpuIo Io => io;

    public IMachineLog Log => log;

    /// <summary>Instructions executed so far (the deterministic clock and the benchmark's counter).</summary>
    public ulong InstructionsRetired { get; internal set; }

    public ulong Rip
    {
        get => State->Gpr[CpuState.RipIndex];
        set => State->Gpr[CpuState.RipIndex] = value;
    }

    public ref ulong Register(int index) => ref State->Gpr[index];

    public int CurrentPrivilegeLevel { get; private set; }

    public ref readonly SegmentState Segment(SegmentRegister register) => ref segments[(int)register];

    /// <summary>Decoding width in bits: 64 in long mode with CS.L, else CS.D picks 32 or 16.</summary>
    public int CodeBits { get; private set; } = 16;

    public bool LongMode => (Efer & EferBits.LongModeActive) != 0;

    /// <summary>Resets the CPU to its power-on state (Intel SDM 3A §9.1.1).</summary>
    public void Reset()
    {
        for (int i = 0; i < CpuState.RegisterSlots; i++)
        {
            State->Gpr[i] = 0;
        }

        LoadBootState(VcpuBootState.PowerOnReset());
        State->Gpr[2] = 0x600;
        ResetModelSpecificRegisters();
        ResetDebugRegisters();
        nonMaskableInterruptBlocked = false;
        nonMaskableInterruptsLatched = 0;
        Interlocked.Exchange(ref nonMaskableInterruptsArriving, 0);
    }

    /// <summary>Loads every register a boot loader chooses; the rest keep their reset values.</summary>
    public void LoadBootState(VcpuBootState boot)
    {
        var s = State;
        s->Gpr[0] = boot.Rax;
        s->Gpr[1] = boot.Rcx;
        s->Gpr[2] = boot.Rdx;
        s->Gpr[3] = boot.Rbx;
        s->Gpr[4] = boot.Rsp;
        s->Gpr[5] = boot.Rbp;
        s->Gpr[6] = boot.Rsi;
        s->Gpr[7] = boot.Rdi;
        s->Gpr[CpuState.RipIndex] = boot.Rip;
        s->Gpr[CpuState.ZeroIndex] = 0;
        Rflags = boot.Rflags;
        cr0 = boot.Cr0 | (ulong)ControlRegister0.ExtensionType;
        cr3 = boot.Cr3;
        cr4 = boot.Cr4;
        efer = boot.Efer;
        Gdtr = boot.Gdt;
        Idtr = boot.Idt;
        Ldtr = boot.Ldtr;
        Tr = boot.Tr;
        SetSegmentCache(SegmentRegister.ES, boot.Es);
        SetSegmentCache(SegmentRegister.CS, boot.Cs);
        SetSegmentCache(SegmentRegister.SS, boot.Ss);
        SetSegmentCache(SegmentRegister.DS, boot.Ds);
        SetSegmentCache(SegmentRegister.FS, boot.Fs);
        SetSegmentCache(SegmentRegister.GS, boot.Gs);
        Fpu->Initialize();
        OnPagingModeChanged();
        waitingForStartup = boot.WaitForStartup;
    }

    /// <summary>Typed access to the sixteen general registers for tests and boot code.</summary>
    public GeneralRegisters Registers => new(State);

    /// <summary>Loads a segment register's hidden part and recomputes what depends on it (CPL, code width, bases).</summary>
    public void SetSegmentCache(SegmentRegister register, SegmentState value)
    {
        segments[(int)register] = value;
        if (register == SegmentRegister.CS)
        {
            bool longCode = (value.Attributes & SegmentAttributes.Long) != 0 && LongMode;
            CodeBits = longCode ? 64 : (value.Attributes & SegmentAttributes.DefaultBig) != 0 ? 32 : 16;
            if (!ProtectedMode)
            {
                SetPrivilegeLevel(0);
            }
            else
            {
                SetPrivilegeLevel(value.Selector & 3);
            }
        }

        UpdateSegmentAccess();
    }

    /// <summary>
    /// Recomputes the bases, valid offsets and read-only marks accesses use, and whether any access needs checking:
    /// limits apply in real and protected mode but not in 64-bit mode (SDM 3A §5.3, §3.4.4), and a null data segment
    /// is unusable outside 64-bit mode (§5.4.1). Runs on every segment load and mode change, so accesses read the result.
    /// </summary>
    private void UpdateSegmentAccess()
    {
        var s = State;
        bool checks = false;
        bool protectedAddressing = ProtectedMode && (s->Rflags & (ulong)RflagsBits.Virtual8086) == 0;
        for (int i = 0; i < segments.Length; i++)
        {
            ValidOffsets(segments[i], protectedAddressing, out ulong first, out ulong last);
            s->SegmentFirstOffset[i] = first;
            s->SegmentLastOffset[i] = last;

            // A null DS/ES/FS/GS (flat 32-bit Linux runs with FS or GS null) does not turn the checks on: its base
            // becomes a poisoned address instead, which every access through it carries into the slow path.
            bool unusable = protectedAddressing && CodeBits != 64 && (segments[i].Attributes & SegmentAttributes.Present) == 0
                && i is not ((int)SegmentRegister.CS or (int)SegmentRegister.SS);
            s->SegmentBase[i] = unusable ? SegmentLimits.GeneralProtectionAddress : segments[i].Base;

            // SDM 3A §5.4.1 / SDM 2 MOV: a write to a read-only data segment is #GP(0). Code segments can only be
            // loaded into data segment registers when readable, and CS itself is left out so that flat protected
            // mode (whose CS is never writable) keeps running unchecked.
            var attributes = segments[i].Attributes;
            bool readOnly = protectedAddressing && i != (int)SegmentRegister.CS && (attributes & SegmentAttributes.Present) != 0
                && ((attributes & SegmentAttributes.Executable) != 0 || (attributes & SegmentAttributes.ReadableOrWritable) == 0);
            s->SegmentReadOnly[i] = readOnly ? (byte)1 : (byte)0;
            checks |= (first != 0 || last != 0xFFFF_FFFF || readOnly) && !unusable;
        }

        for (int i = segments.Length; i < 8; i++)
        {
            s->SegmentBase[i] = 0;
            s->SegmentFirstOffset[i] = 0;
            s->SegmentLastOffset[i] = ulong.MaxValue;
            s->SegmentReadOnly[i] = 0;
        }

        s->SegmentChecks = checks && CodeBits != 64 ? 1 : 0;
    }

    private static void ValidOffsets(in SegmentState segment, bool protectedAddressing, out ulong first, out ulong last)
    {
        var attributes = segment.Attributes;
        if ((attributes & SegmentAttributes.Present) == 0)
        {
            if (protectedAddressing)
            {
                // Unusable (a null selector): every access faults, so the range is empty.
                first = 1;
                last = 0;
                return;
            }

            // Real mode ignores the descriptor cache's usability; a segment left unusable by protected mode keeps
            // working as a 64 KiB one.
            first = 0;
            last = Math.Max(segment.Limit, 0xFFFFu);
            return;
        }

        bool expandDown = (attributes & (SegmentAttributes.CodeOrData | SegmentAttributes.Executable | SegmentAttributes.ConformingOrExpandDown))
            == (SegmentAttributes.CodeOrData | SegmentAttributes.ConformingOrExpandDown);
        if (expandDown)
        {
            // SDM 3A §5.3: an expand-down segment's valid offsets run from limit + 1 to 0xFFFF, or 0xFFFFFFFF with B set.
            first = (ulong)segment.Limit + 1;
            last = (attributes & SegmentAttributes.DefaultBig) != 0 ? 0xFFFF_FFFFUL : 0xFFFFUL;
            return;
        }

        first = 0;
        last = segment.Limit;
    }

    /// <summary>WRFSBASE/WRMSR(FS_BASE) change the base without a selector load.</summary>
    public void SetSegmentBase(SegmentRegister register, ulong value)
    {
        segments[(int)register].Base = value;
        State->SegmentBase[(int)register] = value;
    }

    internal void SetPrivilegeLevel(int level)
    {
        if (CurrentPrivilegeLevel != level)
        {
            CurrentPrivilegeLevel = level;
            SelectTlbForPrivilege();
        }
    }

    public void Dispose()
    {
        if (disposed)
        {
            return;
        }

        disposed = true;
        NativeMemory.AlignedFree(State);
        NativeMemory.AlignedFree(Fpu);
        NativeMemory.AlignedFree(tlb);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong ReadRegister(int index, int bits) => bits switch
    {
        64 => State->Gpr[index],
        32 => (uint)State->Gpr[index],
        16 => (ushort)State->Gpr[index],
        _ => index < 16 ? (byte)State->Gpr[index] : (byte)(State->Gpr[index - 16] >> 8),
    };

    /// <summary>Writes a register as x86 does: 32-bit writes zero the upper half, 8- and 16-bit writes merge.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteRegister(int index, int bits, ulong value)
    {
        ulong* g = State->Gpr;
        switch (bits)
        {
            case 64: g[index] = value; break;
            case 32: g[index] = (uint)value; break;
            case 16: g[index] = (g[index] & ~0xFFFFUL) | (ushort)value; break;
            default:
                if (index < 16)
                {
                    g[index] = (g[index] & ~0xFFUL) | (byte)value;
                }
                else
                {
                    g[index - 16] = (g[index - 16] & ~0xFF00UL) | ((ulong)(byte)value << 8);
                }

                break;
        }
    }
}
