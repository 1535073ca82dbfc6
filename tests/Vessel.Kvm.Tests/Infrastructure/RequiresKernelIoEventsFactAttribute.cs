namespace Vessel.Kvm.Tests.Infrastructure;

/// <summary>
/// A fact that needs a usable /dev/kvm with ioeventfd, irqfd and GSI routing; elsewhere it is skipped with the reason.
/// </summary>
public sealed class RequiresKernelIoEventsFactAttribute : FactAttribute
{
    public RequiresKernelIoEventsFactAttribute()
    {
        if (!new KvmAccelerator().IsAvailable(out string reason))
        {
            Skip = "Needs a KVM host: " + reason;
            return;
        }

        using var host = KvmHost.Open();
        var missing = KvmVm.KernelIoEventCapabilities.Where(c => host.CheckExtension(c.Capability) <= 0).Select(c => c.Name).ToArray();
        if (missing.Length > 0)
        {
            Skip = $"This KVM host lacks {string.Join(", ", missing)}.";
        }
    }
}
