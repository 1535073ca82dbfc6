using System.Runtime.InteropServices;
using Vessel.Core.Accel;
using Vessel.Kvm.Interop;

namespace Vessel.Kvm;

/// <summary>
/// Turns the exit the kernel left in a kvm_run area into <see cref="IVcpuIo"/> calls (port and MMIO accesses, after which
/// the vCPU re-enters the guest) or into the <see cref="VcpuExit"/> that ends Run(). Works on the bytes of the mapping,
/// so tests drive it with a buffer laid out as the kernel writes it.
/// </summary>
internal sealed class KvmExitDispatcher(IVcpuIo io)
{
    /// <summary>Intel SDM 3C Appendix C, basic exit reason 33: "VM-entry failure due to invalid guest state".</summary>
    private const ulong VmxInvalidGuestState = 33;

    /// <summary>AMD APM 2 §15.5.1: VMRUN reports VMEXIT_INVALID (-1) when the VMCB's guest state is illegal.</summary>
    private const ulong SvmInvalidGuestState = ulong.MaxValue;

    /// <summary>
    /// Handles one exit. Returns true when the vCPU should re-enter the guest; false when Run() must return <paramref name="exit"/>.
    /// <paramref name="runArea"/> is the whole kvm_run mapping: the kvm_run struct followed by the pages its data offsets point into.
    /// </summary>
    public bool Dispatch(Span<byte> runArea, out VcpuExit exit)
    {
        ref KvmRun run = ref MemoryMarshal.AsRef<KvmRun>(runArea);
        var reason = (KvmExitReason)run.ExitReason;
        switch (reason)
        {
            case KvmExitReason.Io:
                return HandleIo(runArea, run.Io, out exit);
            case KvmExitReason.Mmio:
                return HandleMmio(ref run.Mmio, out exit);
            case KvmExitReason.Intr:
            case KvmExitReason.IrqWindowOpen:
                // A signal interrupted the guest, or an interrupt window opened that nobody asked about: just re-enter.
                exit = default;
                return true;
            case KvmExitReason.Hlt:
                // Only reachable without the in-kernel irqchip: nothing can wake the vCPU again.
                exit = new VcpuExit(VcpuExitReason.PowerOff, "the guest halted the vCPU (HLT) with no interrupt controller to wake it");
                return false;
            case KvmExitReason.Shutdown:
                exit = VcpuExit.Shutdown("the vCPU entered shutdown (a triple fault); KVM_EXIT_SHUTDOWN");
                return false;
            case KvmExitReason.SystemEvent:
                exit = SystemEvent(run.SystemEvent);
                return false;
            case KvmExitReason.FailEntry:
                exit = VcpuExit.Failure(FailEntryDetail(run.FailEntry));
                return false;
            case KvmExitReason.InternalError:
                exit = VcpuExit.Failure(InternalErrorDetail(run.Internal));
                return false;
            case KvmExitReason.Unknown:
                exit = VcpuExit.Failure($"KVM exited with KVM_EXIT_UNKNOWN, hardware exit reason 0x{run.Hw.HardwareExitReason:x}");
                return false;
            default:
                exit = VcpuExit.Failure($"KVM exited with reason {run.ExitReason} ({reason}), which Vessel does not handle");
                return false;
        }
    }

    private bool HandleIo(Span<byte> runArea, KvmRunIo access, out VcpuExit exit)
    {
        int size = access.Size;
        if (size is not (1 or 2 or 4) || access.Count == 0
            || access.DataOffset > (ulong)runArea.Length
            || (ulong)size * access.Count > (ulong)runArea.Length - access.DataOffset)
        {
            exit = VcpuExit.Failure(
                $"KVM reported a port access the kvm_run area cannot hold: port 0x{access.Port:x}, {access.Count} x {size} bytes at offset {access.DataOffset} of {runArea.Length}");
            return false;
        }

        Span<byte> data = runArea.Slice((int)access.DataOffset, size * (int)access.Count);
        bool isIn = access.Direction == (byte)KvmIoDirection.In;

        // String I/O (rep ins/outs) arrives as Count back-to-back elements; a device sees one access per element, as on hardware.
        for (int offset = 0; offset < data.Length; offset += size)
        {
            Span<byte> element = data.Slice(offset, size);
            if (isIn)
            {
                io.PortRead(access.Port, element);
            }
            else
            {
                io.PortWrite(access.Port, element);
            }
        }

        exit = default;
        return true;
    }

    private bool HandleMmio(ref KvmRunMmio access, out VcpuExit exit)
    {
        if (access.Len is 0 or > sizeof(ulong))
        {
            exit = VcpuExit.Failure($"KVM reported an MMIO access of {access.Len} bytes at 0x{access.PhysAddr:x}; at most 8 fit in kvm_run");
            return false;
        }

        Span<byte> data = MemoryMarshal.AsBytes(MemoryMarshal.CreateSpan(ref access.Data, 1))[..(int)access.Len];
        if (access.IsWrite != 0)
        {
            io.MmioWrite(access.PhysAddr, data);
        }
        else
        {
            io.MmioRead(access.PhysAddr, data);
        }

        exit = default;
        return true;
    }

    private static VcpuExit SystemEvent(in KvmRunSystemEvent systemEvent) => (KvmSystemEventType)systemEvent.Type switch
    {
        KvmSystemEventType.Shutdown => new VcpuExit(VcpuExitReason.PowerOff, "the guest powered off (KVM system event: shutdown)"),
        KvmSystemEventType.Reset => new VcpuExit(VcpuExitReason.Reset, "the guest asked for a reset (KVM system event: reset)"),
        KvmSystemEventType.Crash => VcpuExit.Failure($"the guest reported a crash (KVM system event: crash{EventData(systemEvent)})"),
        _ => VcpuExit.Failure($"KVM reported system event {systemEvent.Type}{EventData(systemEvent)}, which Vessel does not handle"),
    };

    private static string EventData(in KvmRunSystemEvent systemEvent)
    {
        int count = (int)Math.Min(systemEvent.Ndata, KvmRunSystemEvent.MaxData);
        if (count == 0)
        {
            return string.Empty;
        }

        var words = new string[count];
        for (int i = 0; i < count; i++)
        {
            words[i] = $"0x{systemEvent.DataAt(i):x}";
        }

        return ", data " + string.Join(' ', words);
    }

    private static string FailEntryDetail(in KvmRunFailEntry failEntry)
    {
        ulong code = failEntry.HardwareEntryFailureReason;
        string meaning = code switch
        {
            VmxInvalidGuestState => " (VMX: invalid guest state; the boot segment, control register or EFER values are inconsistent)",
            SvmInvalidGuestState => " (SVM: VMEXIT_INVALID; the VMCB guest state is illegal)",
            _ => string.Empty,
        };
        return $"KVM could not enter the guest (KVM_EXIT_FAIL_ENTRY): hardware entry failure reason 0x{code:x}{meaning} on host CPU {failEntry.Cpu}";
    }

    private static string InternalErrorDetail(in KvmRunInternal error)
    {
        string kind = (KvmInternalErrorSuberror)error.Suberror switch
        {
            KvmInternalErrorSuberror.Emulation => "KVM could not emulate an instruction",
            KvmInternalErrorSuberror.SimultaneousException => "an exception occurred while delivering another (simultaneous exceptions)",
            KvmInternalErrorSuberror.DeliveryEvent => "an event could not be delivered to the guest (exit during event delivery)",
            KvmInternalErrorSuberror.UnexpectedExitReason => "the hardware exited for a reason KVM did not expect",
            _ => "unknown suberror",
        };

        int count = (int)Math.Min(error.Ndata, KvmRunInternal.MaxData);
        var words = new string[count];
        for (int i = 0; i < count; i++)
        {
            words[i] = $"0x{error.DataAt(i):x}";
        }

        string data = count == 0 ? string.Empty : $", data {string.Join(' ', words)}";
        return $"KVM internal error (KVM_EXIT_INTERNAL_ERROR, suberror {error.Suberror}): {kind}{data}";
    }
}
