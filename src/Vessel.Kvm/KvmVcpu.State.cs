using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Vessel.Core.Accel;
using Vessel.Core.Accel.State;
using Vessel.Kvm.Boot;
using Vessel.Kvm.Interop;

namespace Vessel.Kvm;

/// <summary>
/// The vCPU as neutral data (<see cref="VcpuState"/>) through KVM_GET/SET_REGS, SREGS, FPU, XSAVE, XCRS, DEBUGREGS,
/// LAPIC, MSRS, MP_STATE and VCPU_EVENTS. A restore writes them in Firecracker's order (registers, FPU, debug, LAPIC,
/// MSRs, MP state) with the events last, since setting the others may clear what is pending.
/// </summary>
public sealed unsafe partial class KvmVcpu
{
    private readonly KvmStateSupport stateSupport;

    public VcpuState GetState()
    {
        KvmRegs regs;
        KvmSregs sregs;
        KvmFpu fpu;
        KvmDebugregs debug;
        KvmLapicState lapic;
        KvmMpState mp;
        KvmVcpuEvents events;

        // Safety: each argument is a local of the struct size the ioctl number encodes.
        KvmIoctlException.ThrowIfFailed(Libc.Ioctl(handle, KvmIoctls.GetRegs, &regs), "KVM_GET_REGS");
        KvmIoctlException.ThrowIfFailed(Libc.Ioctl(handle, KvmIoctls.GetSregs, &sregs), "KVM_GET_SREGS");
        KvmIoctlException.ThrowIfFailed(Libc.Ioctl(handle, KvmIoctls.GetFpu, &fpu), "KVM_GET_FPU");
        KvmIoctlException.ThrowIfFailed(Libc.Ioctl(handle, KvmIoctls.GetDebugregs, &debug), "KVM_GET_DEBUGREGS");
        KvmIoctlException.ThrowIfFailed(Libc.Ioctl(handle, KvmIoctls.GetLapic, &lapic), "KVM_GET_LAPIC");
        KvmIoctlException.ThrowIfFailed(Libc.Ioctl(handle, KvmIoctls.GetMpState, &mp), "KVM_GET_MP_STATE");
        KvmIoctlException.ThrowIfFailed(Libc.Ioctl(handle, KvmIoctls.GetVcpuEvents, &events), "KVM_GET_VCPU_EVENTS");

        var state = new VcpuState
        {
            GeneralRegisters =
            [
                regs.Rax, regs.Rcx, regs.Rdx, regs.Rbx, regs.Rsp, regs.Rbp, regs.Rsi, regs.Rdi,
                regs.R8, regs.R9, regs.R10, regs.R11, regs.R12, regs.R13, regs.R14, regs.R15,
            ],
            Rip = regs.Rip,
            Rflags = regs.Rflags,
            Es = FromSegment(sregs.Es),
            Cs = FromSegment(sregs.Cs),
            Ss = FromSegment(sregs.Ss),
            Ds = FromSegment(sregs.Ds),
            Fs = FromSegment(sregs.Fs),
            Gs = FromSegment(sregs.Gs),
            Ldtr = FromSegment(sregs.Ldt),
            Tr = FromSegment(sregs.Tr),
            Gdtr = new DescriptorTableState(sregs.Gdt.Base, sregs.Gdt.Limit),
            Idtr = new DescriptorTableState(sregs.Idt.Base, sregs.Idt.Limit),
            Cr0 = sregs.Cr0,
            Cr2 = sregs.Cr2,
            Cr3 = sregs.Cr3,
            Cr4 = sregs.Cr4,
            Cr8 = sregs.Cr8,
            Efer = sregs.Efer,
            DebugRegisters = new DebugRegisterState(debug.Db[0], debug.Db[1], debug.Db[2], debug.Db[3], debug.Dr6, debug.Dr7),
            Fxsave = ToFxsaveImage(fpu),
            LocalApic = new LocalApicState { ApicBase = sregs.ApicBase, RegisterPage = new ReadOnlySpan<byte>(lapic.Regs, KvmConstants.ApicRegisterSize).ToArray() },
            MpState = (KvmMpStateValue)mp.MpState switch
            {
                KvmMpStateValue.Uninitialized or KvmMpStateValue.InitReceived => VcpuMpState.WaitingForStartup,
                KvmMpStateValue.Halted => VcpuMpState.Halted,
                _ => VcpuMpState.Runnable,
            },
        };

        if (stateSupport.Xsave)
        {
            var xsave = new KvmXsave();

            // Safety: xsave is a local kvm_xsave of the 4 KiB KVM_GET_XSAVE writes.
            KvmIoctlException.ThrowIfFailed(Libc.Ioctl(handle, KvmIoctls.GetXsave, &xsave), "KVM_GET_XSAVE");
            state.XsaveArea = new ReadOnlySpan<byte>(xsave.Region, KvmConstants.XsaveSize).ToArray();
        }

        if (stateSupport.Xcrs)
        {
            var xcrs = new KvmXcrs();

            // Safety: xcrs is a local kvm_xcrs.
            KvmIoctlException.ThrowIfFailed(Libc.Ioctl(handle, KvmIoctls.GetXcrs, &xcrs), "KVM_GET_XCRS");
            for (int i = 0; i < Math.Min((int)xcrs.NrXcrs, KvmConstants.MaxXcrs); i++)
            {
                if ((uint)xcrs.Xcrs[i * 2] == 0)
                {
                    state.Xcr0 = xcrs.Xcrs[(i * 2) + 1];
                }
            }
        }

        var msrs = new List<ModelSpecificRegisterValue>();
        foreach (var entry in GetMsrs([.. stateSupport.ModelSpecificRegisters, SavedModelSpecificRegisters.TimeStampCounter, SavedModelSpecificRegisters.TscDeadline]))
        {
            switch (entry.Index)
            {
                case SavedModelSpecificRegisters.TimeStampCounter:
                    state.TimeStampCounter = entry.Data;
                    break;
                case SavedModelSpecificRegisters.TscDeadline:
                    state.LocalApic.TscDeadline = entry.Data;
                    break;
                default:
                    msrs.Add(new ModelSpecificRegisterValue(entry.Index, entry.Data));
                    break;
            }
        }

        state.ModelSpecificRegisters = msrs;
        bool exception = events.ExceptionInjected != 0 || events.ExceptionPending != 0;
        state.Events = new VcpuEventState
        {
            Exception = exception ? new PendingException(events.ExceptionNr, events.ExceptionHasErrorCode != 0, events.ExceptionErrorCode) : null,
            InjectedInterrupt = events.InterruptInjected != 0 && events.InterruptSoft == 0 ? events.InterruptNr : null,
            PendingNmis = Math.Min(2, events.NmiPending + events.NmiInjected),
            NmiMasked = events.NmiMasked != 0,
            Shadow = (InterruptShadow)(events.InterruptShadow & 3),
            SipiVector = (byte)events.SipiVector,
        };
        return state;
    }

    /// <summary>Loads a neutral state; refused ioctls raise <see cref="KvmIoctlException"/> naming the one that failed.</summary>
    public void SetState(VcpuState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        KvmSregs sregs;

        // Safety: sregs is a local kvm_sregs; reading it first keeps fields the neutral state has no word for.
        KvmIoctlException.ThrowIfFailed(Libc.Ioctl(handle, KvmIoctls.GetSregs, &sregs), "KVM_GET_SREGS");
        sregs.Es = KvmBootState.ToSegment(state.Es);
        sregs.Cs = KvmBootState.ToSegment(state.Cs);
        sregs.Ss = KvmBootState.ToSegment(state.Ss);
        sregs.Ds = KvmBootState.ToSegment(state.Ds);
        sregs.Fs = KvmBootState.ToSegment(state.Fs);
        sregs.Gs = KvmBootState.ToSegment(state.Gs);
        sregs.Ldt = KvmBootState.ToSegment(state.Ldtr);
        sregs.Tr = KvmBootState.ToSegment(state.Tr);
        sregs.Gdt = new KvmDtable { Base = state.Gdtr.Base, Limit = state.Gdtr.Limit };
        sregs.Idt = new KvmDtable { Base = state.Idtr.Base, Limit = state.Idtr.Limit };
        sregs.Cr0 = state.Cr0;
        sregs.Cr2 = state.Cr2;
        sregs.Cr3 = state.Cr3;
        sregs.Cr4 = state.Cr4;
        sregs.Cr8 = state.Cr8;
        sregs.Efer = state.Efer;
        sregs.ApicBase = state.LocalApic.ApicBase;
        for (int i = 0; i < KvmConstants.InterruptBitmapWords; i++)
        {
            sregs.InterruptBitmap[i] = 0;
        }

        KvmIoctlException.ThrowIfFailed(Libc.Ioctl(handle, KvmIoctls.SetSregs, &sregs), "KVM_SET_SREGS", "The snapshot's segments or control registers are not a combination this host's KVM accepts.");

        var r = state.GeneralRegisters;
        var regs = new KvmRegs
        {
            Rax = r[0],
            Rcx = r[1],
            Rdx = r[2],
            Rbx = r[3],
            Rsp = r[4],
            Rbp = r[5],
            Rsi = r[6],
            Rdi = r[7],
            R8 = r[8],
            R9 = r[9],
            R10 = r[10],
            R11 = r[11],
            R12 = r[12],
            R13 = r[13],
            R14 = r[14],
            R15 = r[15],
            Rip = state.Rip,
            Rflags = state.Rflags | 0x2,
        };

        // Safety: regs is a local kvm_regs.
        KvmIoctlException.ThrowIfFailed(Libc.Ioctl(handle, KvmIoctls.SetRegs, &regs), "KVM_SET_REGS");

        if (stateSupport.Xsave && state.XsaveArea.Length > 0)
        {
            var xsave = new KvmXsave();
            state.XsaveArea.AsSpan(0, Math.Min(state.XsaveArea.Length, KvmConstants.XsaveSize)).CopyTo(new Span<byte>(xsave.Region, KvmConstants.XsaveSize));

            // Safety: xsave is a local kvm_xsave.
            KvmIoctlException.ThrowIfFailed(Libc.Ioctl(handle, KvmIoctls.SetXsave, &xsave), "KVM_SET_XSAVE");
        }
        else
        {
            KvmFpu fpu = FromFxsaveImage(state.Fxsave);

            // Safety: fpu is a local kvm_fpu.
            KvmIoctlException.ThrowIfFailed(Libc.Ioctl(handle, KvmIoctls.SetFpu, &fpu), "KVM_SET_FPU");
        }

        if (stateSupport.Xcrs)
        {
            var xcrs = new KvmXcrs { NrXcrs = 1 };
            xcrs.Xcrs[0] = 0;
            xcrs.Xcrs[1] = state.Xcr0;

            // Safety: xcrs is a local kvm_xcrs naming one XCR.
            KvmIoctlException.ThrowIfFailed(Libc.Ioctl(handle, KvmIoctls.SetXcrs, &xcrs), "KVM_SET_XCRS", $"XCR0 0x{state.Xcr0:x} enables state this host's CPU lacks.");
        }

        var debug = new KvmDebugregs { Dr6 = state.DebugRegisters.Dr6, Dr7 = state.DebugRegisters.Dr7 };
        debug.Db[0] = state.DebugRegisters.Dr0;
        debug.Db[1] = state.DebugRegisters.Dr1;
        debug.Db[2] = state.DebugRegisters.Dr2;
        debug.Db[3] = state.DebugRegisters.Dr3;

        // Safety: debug is a local kvm_debugregs.
        KvmIoctlException.ThrowIfFailed(Libc.Ioctl(handle, KvmIoctls.SetDebugregs, &debug), "KVM_SET_DEBUGREGS");

        var lapic = new KvmLapicState();
        state.LocalApic.RegisterPage.AsSpan(0, KvmConstants.ApicRegisterSize).CopyTo(new Span<byte>(lapic.Regs, KvmConstants.ApicRegisterSize));

        // Safety: lapic is a local kvm_lapic_state. KVM restarts the timer from the page's TMCCT.
        KvmIoctlException.ThrowIfFailed(Libc.Ioctl(handle, KvmIoctls.SetLapic, &lapic), "KVM_SET_LAPIC");

        var entries = new List<KvmMsrEntry> { new() { Index = SavedModelSpecificRegisters.TimeStampCounter, Data = state.TimeStampCounter } };
        foreach (var msr in state.ModelSpecificRegisters)
        {
            entries.Add(new KvmMsrEntry { Index = msr.Index, Data = msr.Value });
        }

        entries.Add(new KvmMsrEntry { Index = SavedModelSpecificRegisters.TscDeadline, Data = state.LocalApic.TscDeadline });
        SetMsrsSkippingRefused(CollectionsMarshal.AsSpan(entries));

        var mp = new KvmMpState
        {
            MpState = (uint)(state.MpState switch
            {
                VcpuMpState.WaitingForStartup => KvmMpStateValue.InitReceived,
                VcpuMpState.Halted => KvmMpStateValue.Halted,
                _ => KvmMpStateValue.Runnable,
            }),
        };

        // Safety: mp is a local kvm_mp_state.
        KvmIoctlException.ThrowIfFailed(Libc.Ioctl(handle, KvmIoctls.SetMpState, &mp), "KVM_SET_MP_STATE");

        var events = new KvmVcpuEvents
        {
            ExceptionInjected = state.Events.Exception is null ? (byte)0 : (byte)1,
            ExceptionNr = state.Events.Exception?.Vector ?? 0,
            ExceptionHasErrorCode = state.Events.Exception?.HasErrorCode == true ? (byte)1 : (byte)0,
            ExceptionErrorCode = state.Events.Exception?.ErrorCode ?? 0,
            InterruptInjected = state.Events.InjectedInterrupt is null ? (byte)0 : (byte)1,
            InterruptNr = state.Events.InjectedInterrupt ?? 0,
            InterruptShadow = (byte)state.Events.Shadow,
            NmiPending = (byte)Math.Min(1, state.Events.PendingNmis),
            NmiMasked = state.Events.NmiMasked ? (byte)1 : (byte)0,
            SipiVector = state.Events.SipiVector,
            Flags = KvmConstants.VcpuEventValidNmiPending | KvmConstants.VcpuEventValidSipiVector | KvmConstants.VcpuEventValidShadow,
        };

        // Safety: events is a local kvm_vcpu_events.
        KvmIoctlException.ThrowIfFailed(Libc.Ioctl(handle, KvmIoctls.SetVcpuEvents, &events), "KVM_SET_VCPU_EVENTS");
    }

    /// <summary>KVM_GET_MSRS for <paramref name="indices"/>, dropping any the kernel will not read (it stops at the first).</summary>
    private List<KvmMsrEntry> GetMsrs(uint[] indices)
    {
        var wanted = new List<uint>(indices);
        while (true)
        {
            int bytes = sizeof(KvmMsrs) + (wanted.Count * sizeof(KvmMsrEntry));
            byte* buffer = (byte*)NativeMemory.AllocZeroed((nuint)bytes);
            try
            {
                ((KvmMsrs*)buffer)->Nmsrs = (uint)wanted.Count;
                var entries = new Span<KvmMsrEntry>(buffer + sizeof(KvmMsrs), wanted.Count);
                for (int i = 0; i < wanted.Count; i++)
                {
                    entries[i].Index = wanted[i];
                }

                // Safety: buffer holds the kvm_msrs header and exactly nmsrs entries; KVM returns how many it read.
                int read = Libc.Ioctl(handle, KvmIoctls.GetMsrs, buffer);
                KvmIoctlException.ThrowIfFailed(read, "KVM_GET_MSRS");
                if (read == wanted.Count)
                {
                    return [.. entries];
                }

                wanted.RemoveAt(read);
            }
            finally
            {
                NativeMemory.Free(buffer);
            }
        }
    }

    /// <summary>KVM_SET_MSRS, skipping (and logging) an MSR this host refuses rather than abandoning the rest.</summary>
    private void SetMsrsSkippingRefused(Span<KvmMsrEntry> entries)
    {
        while (entries.Length > 0)
        {
            int bytes = sizeof(KvmMsrs) + (entries.Length * sizeof(KvmMsrEntry));
            byte* buffer = (byte*)NativeMemory.AllocZeroed((nuint)bytes);
            try
            {
                ((KvmMsrs*)buffer)->Nmsrs = (uint)entries.Length;
                entries.CopyTo(new Span<KvmMsrEntry>(buffer + sizeof(KvmMsrs), entries.Length));

                // Safety: buffer holds the kvm_msrs header and exactly nmsrs entries.
                int set = Libc.Ioctl(handle, KvmIoctls.SetMsrs, buffer);
                KvmIoctlException.ThrowIfFailed(set, "KVM_SET_MSRS");
                if (set == entries.Length)
                {
                    return;
                }

                log.Warn($"KVM: vCPU {Index} refused MSR 0x{entries[set].Index:x} = 0x{entries[set].Data:x} from the snapshot; it keeps its reset value.");
                entries = entries[(set + 1)..];
            }
            finally
            {
                NativeMemory.Free(buffer);
            }
        }
    }

    private static SegmentState FromSegment(in KvmSegment segment)
    {
        var attributes = (SegmentAttributes)(segment.Type & 0xF)
            | (segment.S != 0 ? SegmentAttributes.CodeOrData : 0)
            | (SegmentAttributes)((segment.Dpl & 3) << 5)
            | (segment.Present != 0 && segment.Unusable == 0 ? SegmentAttributes.Present : 0)
            | (segment.Avl != 0 ? SegmentAttributes.Available : 0)
            | (segment.L != 0 ? SegmentAttributes.Long : 0)
            | (segment.Db != 0 ? SegmentAttributes.DefaultBig : 0)
            | (segment.G != 0 ? SegmentAttributes.Granularity : 0);
        return new SegmentState(segment.Selector, segment.Base, segment.Limit, attributes);
    }

    /// <summary>kvm_fpu as the 64-bit FXSAVE image: the same fields, in FXSAVE's places.</summary>
    private static byte[] ToFxsaveImage(in KvmFpu fpu)
    {
        var image = new byte[FxsaveLayout.Size];
        var span = image.AsSpan();
        BinaryPrimitives.WriteUInt16LittleEndian(span[FxsaveLayout.ControlWord..], fpu.Fcw);
        BinaryPrimitives.WriteUInt16LittleEndian(span[FxsaveLayout.StatusWord..], fpu.Fsw);
        span[FxsaveLayout.AbridgedTagWord] = fpu.Ftwx;
        BinaryPrimitives.WriteUInt16LittleEndian(span[FxsaveLayout.Opcode..], fpu.LastOpcode);
        BinaryPrimitives.WriteUInt64LittleEndian(span[FxsaveLayout.InstructionPointer..], fpu.LastIp);
        BinaryPrimitives.WriteUInt64LittleEndian(span[FxsaveLayout.DataPointer..], fpu.LastDp);
        BinaryPrimitives.WriteUInt32LittleEndian(span[FxsaveLayout.Mxcsr..], fpu.Mxcsr);
        BinaryPrimitives.WriteUInt32LittleEndian(span[FxsaveLayout.MxcsrMask..], 0xFFFF);
        fixed (byte* fpr = fpu.Fpr)
        fixed (byte* xmm = fpu.Xmm)
        {
            new ReadOnlySpan<byte>(fpr, 8 * 16).CopyTo(span[FxsaveLayout.Registers..]);
            new ReadOnlySpan<byte>(xmm, 16 * 16).CopyTo(span[FxsaveLayout.Xmm..]);
        }

        return image;
    }

    private static KvmFpu FromFxsaveImage(ReadOnlySpan<byte> image)
    {
        var fpu = new KvmFpu
        {
            Fcw = BinaryPrimitives.ReadUInt16LittleEndian(image[FxsaveLayout.ControlWord..]),
            Fsw = BinaryPrimitives.ReadUInt16LittleEndian(image[FxsaveLayout.StatusWord..]),
            Ftwx = image[FxsaveLayout.AbridgedTagWord],
            LastOpcode = BinaryPrimitives.ReadUInt16LittleEndian(image[FxsaveLayout.Opcode..]),
            LastIp = BinaryPrimitives.ReadUInt64LittleEndian(image[FxsaveLayout.InstructionPointer..]),
            LastDp = BinaryPrimitives.ReadUInt64LittleEndian(image[FxsaveLayout.DataPointer..]),
            Mxcsr = BinaryPrimitives.ReadUInt32LittleEndian(image[FxsaveLayout.Mxcsr..]),
        };
        image.Slice(FxsaveLayout.Registers, 8 * 16).CopyTo(new Span<byte>(fpu.Fpr, 8 * 16));
        image.Slice(FxsaveLayout.Xmm, 16 * 16).CopyTo(new Span<byte>(fpu.Xmm, 16 * 16));
        return fpu;
    }
}
