using Vessel.Core.Logging;
using Vessel.Core.Memory;

namespace Vessel.Core.Accel;

/// <summary>A way to run guest code: hardware virtualization (KVM) or our own x86-64 CPU.</summary>
public interface IAccelerator
{
    string Name { get; }

    /// <summary>Whether this accelerator can run on this host; when not, <paramref name="reason"/> tells the user why and what to do.</summary>
    bool IsAvailable(out string reason);

    /// <summary>
    /// Whether this accelerator can run any guest the machine model supports, not only some; <c>--accel auto</c> passes
    /// over one that cannot (a nested KVM that runs only paravirtualized kernels, say) and says why.
    /// </summary>
    bool RunsGeneralGuests(out string reason)
    {
        reason = string.Empty;
        return true;
    }

    /// <summary>
    /// Whether this accelerator can boot a stock Linux kernel (one not built for a paravirtualized host); when not,
    /// <paramref name="refusal"/> is one sentence saying why and what to use instead. The builder asks before it builds.
    /// </summary>
    bool BootsStockLinux(out string refusal)
    {
        refusal = string.Empty;
        return true;
    }

    IAcceleratorVm CreateVm(GuestMemory memory, AcceleratorVmOptions options, IMachineLog log);
}
