using System.Runtime.InteropServices;
using Vessel.Core.Accel;
using Vessel.Core.Logging;
using Vessel.Kvm.Boot;
using Vessel.Kvm.Interop;

namespace Vessel.Kvm;

/// <summary>
/// One KVM vCPU. Run() loops on KVM_RUN on the caller's thread, serving port and MMIO exits through the machine's
/// <see cref="IVcpuIo"/>, and returns only for lifecycle events.
/// </summary>
/// <remarks>
/// RequestExit() sets a flag, then kvm_run.immediate_exit, then signals the vCPU thread. Whichever of the three the
/// thread meets first ends the run: a flag seen at the top of the loop; immediate_exit when it enters KVM_RUN after
/// the store; the signal (EINTR) when it was already inside. After an EINTR the loop clears immediate_exit before it
/// reads the flag again, with full fences on both sides, so a request is never lost and a stale immediate_exit costs
/// one empty KVM_RUN.
/// </remarks>
public sealed unsafe partial class KvmVcpu : IVcpu
{
    private readonly SafeKvmVcpuHandle handle;
    private readonly KvmRunMapping runMapping;
    private readonly KvmRun* run;
    private readonly KvmExitDispatcher dispatcher;
    private readonly IMachineLog log;
    private readonly Lock threadLock = new();
    private int exitRequested;
    private int runningThreadId;
    private bool disposed;

    internal KvmVcpu(int index, SafeKvmVcpuHandle handle, KvmRunMapping runMapping, KvmExitDispatcher dispatcher, IMachineLog log, KvmStateSupport stateSupport)
    {
        this.stateSupport = stateSupport;
        Index = index;
        this.handle = handle;
        this.runMapping = runMapping;
        this.dispatcher = dispatcher;
        this.log = log;
        run = (KvmRun*)runMapping.Address;
        VcpuKickSignal.EnsureInstalled();
    }

    public int Index { get; }

    /// <summary>Loads the boot state: MSRs, special registers, general registers, FPU, LAPIC virtual wire, then MP state (Firecracker's order).</summary>
    public void SetBootState(VcpuBootState state)
    {
        ArgumentNullException.ThrowIfNull(state);

        SetMsrs(KvmBootState.InitialMsrs());

        KvmSregs sregs;

        // Safety: sregs is a local kvm_sregs, the size KVM_GET_SREGS/KVM_SET_SREGS encode.
        KvmIoctlException.ThrowIfFailed(Libc.Ioctl(handle, KvmIoctls.GetSregs, &sregs), "KVM_GET_SREGS");
        KvmBootState.ApplyToSregs(state, ref sregs);
        KvmIoctlException.ThrowIfFailed(Libc.Ioctl(handle, KvmIoctls.SetSregs, &sregs), "KVM_SET_SREGS", "The boot state's segments or control registers are not a valid combination.");

        KvmRegs regs = KvmBootState.ToRegs(state);

        // Safety: regs is a local kvm_regs.
        KvmIoctlException.ThrowIfFailed(Libc.Ioctl(handle, KvmIoctls.SetRegs, &regs), "KVM_SET_REGS");

        KvmFpu fpu = KvmBootState.InitialFpu();

        // Safety: fpu is a local kvm_fpu.
        KvmIoctlException.ThrowIfFailed(Libc.Ioctl(handle, KvmIoctls.SetFpu, &fpu), "KVM_SET_FPU");

        KvmLapicState lapic;

        // Safety: lapic is a local kvm_lapic_state (1 KiB); the span covers exactly its register page.
        KvmIoctlException.ThrowIfFailed(Libc.Ioctl(handle, KvmIoctls.GetLapic, &lapic), "KVM_GET_LAPIC");
        LocalApicPins.ProgramVirtualWire(new Span<byte>(lapic.Regs, KvmConstants.ApicRegisterSize));
        KvmIoctlException.ThrowIfFailed(Libc.Ioctl(handle, KvmIoctls.SetLapic, &lapic), "KVM_SET_LAPIC");

        var mpState = new KvmMpState { MpState = (uint)(state.WaitForStartup ? KvmMpStateValue.Uninitialized : KvmMpStateValue.Runnable) };

        // Safety: mpState is a local kvm_mp_state.
        KvmIoctlException.ThrowIfFailed(Libc.Ioctl(handle, KvmIoctls.SetMpState, &mpState), "KVM_SET_MP_STATE");
    }

    public VcpuExit Run()
    {
        bool addedReference = false;
        runMapping.DangerousAddRef(ref addedReference);
        lock (threadLock)
        {
            runningThreadId = Libc.GetThreadId();
        }

        try
        {
            VcpuKickSignal.UnblockOnCurrentThread();

            // Safety: the mapping is KVM_GET_VCPU_MMAP_SIZE bytes from the vCPU descriptor and is kept alive by the reference taken above.
            var runArea = new Span<byte>(run, runMapping.Size);
            bool completionPending = false;
            while (true)
            {
                if (Interlocked.Exchange(ref exitRequested, 0) != 0)
                {
                    if (completionPending)
                    {
                        // api.rst §5 (kvm_run): a port or MMIO exit is finished only by the next KVM_RUN, and that pending
                        // part is not in any state userspace can save. Re-entering with immediate_exit completes it (the
                        // OUT's RIP advance, an IN's register load) without running another instruction, so a snapshot
                        // taken now neither repeats nor loses the access.
                        Volatile.Write(ref run->ImmediateExit, 1);
                        _ = Libc.Ioctl(handle, KvmIoctls.Run, 0);
                    }

                    Volatile.Write(ref run->ImmediateExit, 0);
                    return VcpuExit.ExitRequested();
                }

                if (Libc.Ioctl(handle, KvmIoctls.Run, 0) < 0)
                {
                    int errno = Marshal.GetLastPInvokeError();
                    if (errno is Libc.ErrorInterrupted or Libc.ErrorTryAgain)
                    {
                        completionPending = false;
                        Volatile.Write(ref run->ImmediateExit, 0);
                        Interlocked.MemoryBarrier();
                        continue;
                    }

                    return VcpuExit.Failure($"KVM_RUN failed on vCPU {Index}: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
                }

                if (!dispatcher.Dispatch(runArea, out VcpuExit exit))
                {
                    log.Info($"KVM: vCPU {Index} stopped: {exit.Reason} {exit.Detail}");
                    return exit;
                }

                completionPending = true;
            }
        }
        finally
        {
            lock (threadLock)
            {
                runningThreadId = 0;
            }

            if (addedReference)
            {
                runMapping.DangerousRelease();
            }
        }
    }

    public void RequestExit()
    {
        lock (threadLock)
        {
            if (disposed)
            {
                return;
            }

            Interlocked.Exchange(ref exitRequested, 1);
            Volatile.Write(ref run->ImmediateExit, 1);
            Interlocked.MemoryBarrier();
            if (runningThreadId != 0)
            {
                VcpuKickSignal.Kick(runningThreadId);
            }
        }
    }

    public void Dispose()
    {
        lock (threadLock)
        {
            disposed = true;
        }

        runMapping.Dispose();
        handle.Dispose();
    }

    private void SetMsrs(ReadOnlySpan<KvmMsrEntry> entries)
    {
        int bytes = sizeof(KvmMsrs) + (entries.Length * sizeof(KvmMsrEntry));
        byte* buffer = stackalloc byte[bytes];
        ((KvmMsrs*)buffer)->Nmsrs = (uint)entries.Length;
        ((KvmMsrs*)buffer)->Pad = 0;
        entries.CopyTo(new Span<KvmMsrEntry>(buffer + sizeof(KvmMsrs), entries.Length));

        // Safety: buffer holds the kvm_msrs header and exactly nmsrs entries. KVM_SET_MSRS returns how many it set,
        // stopping at the first MSR it refuses.
        int set = Libc.Ioctl(handle, KvmIoctls.SetMsrs, buffer);
        KvmIoctlException.ThrowIfFailed(set, "KVM_SET_MSRS");
        if (set < entries.Length)
        {
            throw new KvmUnavailableException(
                $"This host's KVM refused MSR 0x{entries[set].Index:x} for vCPU {Index}; its CPU lacks a feature the boot state needs (or use --accel software).");
        }
    }
}
