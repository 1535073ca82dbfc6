using Vessel.Core.Accel;
using Vessel.Core.Logging;
using Vessel.Core.Memory;
using Vessel.Kvm.Cpuid;

namespace Vessel.Kvm;

/// <summary>Hardware virtualization through Linux KVM: the CPU, local APICs, IOAPIC, PIC and PIT run in the kernel.</summary>
public sealed class KvmAccelerator(CpuTemplate? cpuTemplate = null, string devicePath = KvmHost.DefaultDevicePath) : IAccelerator
{
    private readonly CpuTemplate cpuTemplate = cpuTemplate ?? CpuTemplate.Default;

    public string Name => "kvm";

    public bool IsAvailable(out string reason)
    {
        try
        {
            using var host = KvmHost.Open(devicePath);
            reason = string.Empty;
            return true;
        }
        catch (KvmException exception)
        {
            reason = exception.Message;
            return false;
        }
    }

    /// <summary>
    /// Whether a stock (non-paravirtualized) Linux kernel can boot on this host's KVM; false on PVM hosts, with the reason.
    /// Only meaningful when <see cref="IsAvailable"/> is true.
    /// </summary>
    public bool RunsGeneralGuests(out string reason) => RunsStockLinux(out reason);

    public static bool RunsStockLinux(out string reason)
    {
        reason = KvmHost.IsPagetableVirtualMachine ? KvmHostMessages.PvmCannotRunStockKernels : string.Empty;
        return reason.Length == 0;
    }

    public IAcceleratorVm CreateVm(GuestMemory memory, AcceleratorVmOptions options, IMachineLog log)
    {
        ArgumentNullException.ThrowIfNull(memory);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(log);

        using var host = KvmHost.Open(devicePath);
        return KvmVm.Create(host, memory, options, cpuTemplate, log);
    }
}
