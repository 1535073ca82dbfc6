using Vessel.Core.Accel;
using Vessel.Core.Logging;
using Vessel.Core.Memory;
using Vessel.Kvm.Cpuid;

namespace Vessel.Kvm;

/// <summary>Hardware virtualization through Linux KVM: the CPU, local APICs, IOAPIC, PIC and PIT run in the kernel.</summary>
/// <param name="cpuTemplate">The CPUID template; null for Vessel's default.</param>
/// <param name="devicePath">The KVM device, /dev/kvm unless a test points elsewhere.</param>
/// <param name="isPagetableVirtualMachine">The probe for a PVM host (kvm_pvm loaded); tests pass a fake one.</param>
public sealed class KvmAccelerator(CpuTemplate? cpuTemplate = null, string devicePath = KvmHost.DefaultDevicePath, Func<bool>? isPagetableVirtualMachine = null) : IAccelerator
{
    private readonly CpuTemplate cpuTemplate = cpuTemplate ?? CpuTemplate.Default;
    private readonly Func<bool> isPagetableVirtualMachine = isPagetableVirtualMachine ?? (() => KvmHost.IsPagetableVirtualMachine);

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
    public bool RunsGeneralGuests(out string reason)
    {
        reason = isPagetableVirtualMachine() ? KvmHostMessages.PvmCannotRunStockKernels : string.Empty;
        return reason.Length == 0;
    }

    /// <summary>False on a PVM host: a stock kernel there burns a minute of CPU in KVM's emulator, then fails with an internal error.</summary>
    public bool BootsStockLinux(out string refusal)
    {
        refusal = isPagetableVirtualMachine() ? KvmHostMessages.PvmRefusesStockLinux : string.Empty;
        return refusal.Length == 0;
    }

    /// <summary>Whether this host's KVM is PVM (the kvm_pvm module is loaded).</summary>
    public static bool HostIsPagetableVirtualMachine => KvmHost.IsPagetableVirtualMachine;

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
