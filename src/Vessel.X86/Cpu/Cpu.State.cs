using System.Buffers.Binary;
using Vessel.Core.Accel;
using Vessel.Core.Accel.State;
using Vessel.X86.Cpu.Fpu;

namespace Vessel.X86.Cpu;

/// <summary>
/// The CPU as data (<see cref="VcpuState"/>): what a snapshot saves and restores. The hot register file is read from
/// <see cref="CpuState"/> with the lazy arithmetic flags materialised; the rest (segment caches, control and debug
/// registers, MSRs, the x87/SSE file, events in flight) from the fields that hold them. Restoring drops everything
/// derived from the old state: the soft TLB, decoded blocks (and the compiled code hanging off them).
/// </summary>
public sealed unsafe partial class Cpu
{
    /// <summary>An interrupt vector acknowledged from a controller but not yet delivered (restored from KVM), or -1.</summary>
    private int injectedInterrupt = -1;

    private static readonly uint[] IgnoredFsGsBaseMsrs = [(uint)ModelSpecificRegister.FsBase, (uint)ModelSpecificRegister.GsBase];

    /// <summary>The architectural state; the local APIC's part is left empty for the owner to fill.</summary>
    public VcpuState GetState()
    {
        var s = State;
        var registers = new ulong[VcpuState.GeneralRegisterCount];
        for (int i = 0; i < registers.Length; i++)
        {
            registers[i] = s->Gpr[i];
        }

        var msrs = new List<ModelSpecificRegisterValue>(SavedModelSpecificRegisters.Architectural.Length);
        foreach (uint index in SavedModelSpecificRegisters.Architectural)
        {
            if (TryReadMsr(index, out ulong value))
            {
                msrs.Add(new ModelSpecificRegisterValue(index, value));
            }
        }

        int nmis = Math.Min(2, nonMaskableInterruptsLatched + Volatile.Read(ref nonMaskableInterruptsArriving));
        var shadow = InterruptShadow.None;
        if ((s->InterruptShadow & CpuState.ShadowAfterSti) != 0)
        {
            shadow |= InterruptShadow.AfterSti;
        }

        if ((s->InterruptShadow & CpuState.ShadowAfterStackLoad) != 0)
        {
            shadow |= InterruptShadow.AfterStackLoad;
        }

        return new VcpuState
        {
            GeneralRegisters = registers,
            Rip = Rip,
            Rflags = Rflags,
            Es = segments[(int)SegmentRegister.ES],
            Cs = segments[(int)SegmentRegister.CS],
            Ss = segments[(int)SegmentRegister.SS],
            Ds = segments[(int)SegmentRegister.DS],
            Fs = segments[(int)SegmentRegister.FS],
            Gs = segments[(int)SegmentRegister.GS],
            Ldtr = Ldtr,
            Tr = Tr,
            Gdtr = Gdtr,
            Idtr = Idtr,
            Cr0 = cr0,
            Cr2 = s->Cr2,
            Cr3 = cr3,
            Cr4 = cr4,
            Cr8 = Cr8,
            Efer = efer,
            DebugRegisters = new DebugRegisterState(debugRegisters[0], debugRegisters[1], debugRegisters[2], debugRegisters[3], debugRegisters[6], debugRegisters[7]),
            ModelSpecificRegisters = msrs,
            Fxsave = SaveFxsaveImage(),
            TimeStampCounter = TimeStampCounter,
            Events = new VcpuEventState
            {
                InjectedInterrupt = injectedInterrupt >= 0 ? (byte)injectedInterrupt : null,
                Exception = s->ExceptionPending != 0 ? new PendingException((byte)s->ExceptionVector, s->ExceptionHasErrorCode != 0, s->ExceptionErrorCode) : null,
                PendingNmis = nmis,
                NmiMasked = nonMaskableInterruptBlocked,
                Shadow = shadow,
                SipiVector = (byte)startupVector,
            },
            MpState = waitingForStartup ? VcpuMpState.WaitingForStartup : halted ? VcpuMpState.Halted : VcpuMpState.Runnable,
        };
    }

    /// <summary>Why this CPU cannot become <paramref name="state"/> (a feature it lacks, a value it cannot hold), or null.</summary>
    public string? CheckState(VcpuState state)
    {
        if ((state.Xcr0 & ~1UL) != 0 && (state.Xcr0 & ~3UL) != 0)
        {
            return $"XCR0 is {state.Xcr0:X}: the guest enabled XSAVE state (AVX or later) the software CPU does not offer";
        }

        if ((state.Cr4 & ~Cr4Supported) != 0)
        {
            return $"CR4 is {state.Cr4:X}: bits {state.Cr4 & ~Cr4Supported:X} are features the software CPU does not offer";
        }

        if ((state.Cr0 & Cr0Reserved) != 0)
        {
            return $"CR0 is {state.Cr0:X}, with reserved bits set";
        }

        const ulong eferKnown = (ulong)(EferBits.SystemCallEnable | EferBits.LongModeEnable | EferBits.LongModeActive | EferBits.NoExecuteEnable);
        if ((state.Efer & ~eferKnown) != 0)
        {
            return $"EFER is {state.Efer:X}: bits {state.Efer & ~eferKnown:X} are features the software CPU does not offer";
        }

        foreach (var msr in state.ModelSpecificRegisters)
        {
            if (Array.IndexOf(IgnoredFsGsBaseMsrs, msr.Index) < 0 && !TryReadMsr(msr.Index, out _)
                && msr.Value != SavedModelSpecificRegisters.KvmParavirtualResetValue(msr.Index))
            {
                return $"MSR {msr.Index:X} holds {msr.Value:X} and the software CPU has no such MSR (a paravirtual clock or a feature it does not offer)";
            }
        }

        return null;
    }

    /// <summary>
    /// Becomes <paramref name="state"/>, which <see cref="CheckState"/> accepted. Called with the CPU outside Run. The
    /// local APIC's part is the owner's to load, after this (its TSC deadline reads the restored TSC).
    /// </summary>
    public void SetState(VcpuState state)
    {
        var s = State;
        for (int i = 0; i < VcpuState.GeneralRegisterCount; i++)
        {
            s->Gpr[i] = state.GeneralRegisters[i];
        }

        s->Gpr[CpuState.ZeroIndex] = 0;
        Rip = state.Rip;
        cr0 = state.Cr0 | (ulong)ControlRegister0.ExtensionType;
        cr3 = state.Cr3;
        cr4 = state.Cr4;
        efer = state.Efer;
        s->Cr2 = state.Cr2;
        Gdtr = state.Gdtr;
        Idtr = state.Idtr;
        Ldtr = state.Ldtr;
        Tr = state.Tr;

        // RFLAGS before the segments: VM (virtual-8086) decides how their limits are checked.
        Rflags = state.Rflags;
        SetSegmentCache(SegmentRegister.ES, state.Es);
        SetSegmentCache(SegmentRegister.CS, state.Cs);
        SetSegmentCache(SegmentRegister.SS, state.Ss);
        SetSegmentCache(SegmentRegister.DS, state.Ds);
        SetSegmentCache(SegmentRegister.FS, state.Fs);
        SetSegmentCache(SegmentRegister.GS, state.Gs);
        if (InterruptController is null)
        {
            taskPriorityWithoutApic = state.Cr8 & 0xF;
        }

        var debug = state.DebugRegisters;
        debugRegisters[0] = debug.Dr0;
        debugRegisters[1] = debug.Dr1;
        debugRegisters[2] = debug.Dr2;
        debugRegisters[3] = debug.Dr3;
        debugRegisters[6] = (debug.Dr6 & DebugStatusWritable) | DebugStatusFixedOnes;
        debugRegisters[7] = (debug.Dr7 & 0xFFFF_FFFFUL & ~0xD800UL) | DebugControlFixedOnes;
        pendingDebugTrap = 0;
        deferredDebugTrap = 0;
        UpdateBreakpoints();

        foreach (var msr in state.ModelSpecificRegisters)
        {
            if (Array.IndexOf(IgnoredFsGsBaseMsrs, msr.Index) < 0 && TryReadMsr(msr.Index, out _) && !TryWriteMsr(msr.Index, msr.Value))
            {
                log.Warn($"snapshot restore: MSR {msr.Index:X} refused the value {msr.Value:X}; it keeps {(TryReadMsr(msr.Index, out ulong kept) ? kept : 0):X}");
            }
        }

        LoadFxsaveImage(state.Fxsave);
        TimeStampCounter = state.TimeStampCounter;

        var events = state.Events;
        s->ExceptionPending = events.Exception is not null ? 1 : 0;
        s->ExceptionVector = events.Exception?.Vector ?? 0;
        s->ExceptionHasErrorCode = events.Exception?.HasErrorCode == true ? 1 : 0;
        s->ExceptionErrorCode = events.Exception?.ErrorCode ?? 0;
        s->InterruptShadow = ((events.Shadow & InterruptShadow.AfterSti) != 0 ? CpuState.ShadowAfterSti : 0)
            | ((events.Shadow & InterruptShadow.AfterStackLoad) != 0 ? CpuState.ShadowAfterStackLoad : 0);
        s->StopBlock = 0;
        nonMaskableInterruptBlocked = events.NmiMasked;
        Interlocked.Exchange(ref nonMaskableInterruptsArriving, 0);
        nonMaskableInterruptsLatched = events.PendingNmis;
        startupVector = events.SipiVector;
        ClearEvent(PendingEvent.Init | PendingEvent.Startup | PendingEvent.NonMaskableInterrupt);
        if (events.PendingNmis > 0)
        {
            RaiseEvent(PendingEvent.NonMaskableInterrupt);
        }

        // An interrupt KVM had acknowledged from a controller (the vector already in service there) and was about to
        // deliver: the run loop delivers it before anything else, as KVM's next entry would have.
        injectedInterrupt = events.InjectedInterrupt ?? -1;
        waitingForStartup = state.MpState == VcpuMpState.WaitingForStartup;
        halted = state.MpState == VcpuMpState.Halted;
        shutdownReason = null;
        failureReason = null;

        // Everything derived from the old state goes: translations, decoded blocks and the compiled code they hold.
        OnPagingModeChanged();
        blockCache.Clear();
        RaiseEvent(PendingEvent.InterruptRequest);
    }

    /// <summary>The x87/SSE file as the 64-bit FXSAVE image (SDM 2 FXSAVE Table 3-56), every XMM register included.</summary>
    private byte[] SaveFxsaveImage()
    {
        var fpu = Fpu;
        var image = new byte[FxsaveLayout.Size];
        var span = image.AsSpan();
        BinaryPrimitives.WriteUInt16LittleEndian(span[FxsaveLayout.ControlWord..], fpu->ControlWord);
        BinaryPrimitives.WriteUInt16LittleEndian(span[FxsaveLayout.StatusWord..], fpu->FullStatusWord);
        span[FxsaveLayout.AbridgedTagWord] = fpu->TagValid;
        BinaryPrimitives.WriteUInt16LittleEndian(span[FxsaveLayout.Opcode..], fpu->Opcode);
        BinaryPrimitives.WriteUInt64LittleEndian(span[FxsaveLayout.InstructionPointer..], fpu->InstructionPointer);
        BinaryPrimitives.WriteUInt64LittleEndian(span[FxsaveLayout.DataPointer..], fpu->DataPointer);
        BinaryPrimitives.WriteUInt32LittleEndian(span[FxsaveLayout.Mxcsr..], fpu->Mxcsr);
        BinaryPrimitives.WriteUInt32LittleEndian(span[FxsaveLayout.MxcsrMask..], MxcsrBits.WritableMask);
        for (int i = 0; i < 8; i++)
        {
            int physical = (fpu->Top + i) & 7;
            BinaryPrimitives.WriteUInt64LittleEndian(span[(FxsaveLayout.Registers + (i * 16))..], fpu->Physical[physical * 2]);
            BinaryPrimitives.WriteUInt16LittleEndian(span[(FxsaveLayout.Registers + (i * 16) + 8)..], (ushort)fpu->Physical[(physical * 2) + 1]);
        }

        for (int i = 0; i < FpuState.XmmCount * 2; i++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(span[(FxsaveLayout.Xmm + (i * 8))..], fpu->Xmm[i]);
        }

        return image;
    }

    private void LoadFxsaveImage(ReadOnlySpan<byte> image)
    {
        var fpu = Fpu;
        fpu->ControlWord = BinaryPrimitives.ReadUInt16LittleEndian(image[FxsaveLayout.ControlWord..]);
        ushort status = BinaryPrimitives.ReadUInt16LittleEndian(image[FxsaveLayout.StatusWord..]);
        fpu->StatusWord = (ushort)(status & ~0x3800);
        fpu->Top = (status >> 11) & 7;
        fpu->TagValid = image[FxsaveLayout.AbridgedTagWord];
        fpu->Opcode = (ushort)(BinaryPrimitives.ReadUInt16LittleEndian(image[FxsaveLayout.Opcode..]) & 0x7FF);
        fpu->InstructionPointer = BinaryPrimitives.ReadUInt64LittleEndian(image[FxsaveLayout.InstructionPointer..]);
        fpu->DataPointer = BinaryPrimitives.ReadUInt64LittleEndian(image[FxsaveLayout.DataPointer..]);
        fpu->InstructionSelector = 0;
        fpu->DataSelector = 0;
        fpu->Mxcsr = BinaryPrimitives.ReadUInt32LittleEndian(image[FxsaveLayout.Mxcsr..]) & MxcsrBits.WritableMask;
        for (int i = 0; i < 8; i++)
        {
            int physical = (fpu->Top + i) & 7;
            fpu->Physical[physical * 2] = BinaryPrimitives.ReadUInt64LittleEndian(image[(FxsaveLayout.Registers + (i * 16))..]);
            fpu->Physical[(physical * 2) + 1] = BinaryPrimitives.ReadUInt16LittleEndian(image[(FxsaveLayout.Registers + (i * 16) + 8)..]);
        }

        for (int i = 0; i < FpuState.XmmCount * 2; i++)
        {
            fpu->Xmm[i] = BinaryPrimitives.ReadUInt64LittleEndian(image[(FxsaveLayout.Xmm + (i * 8))..]);
        }
    }
}
