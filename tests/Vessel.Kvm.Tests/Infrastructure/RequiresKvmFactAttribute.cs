namespace Vessel.Kvm.Tests.Infrastructure;

/// <summary>A fact that needs a usable /dev/kvm; elsewhere it is skipped with KvmAccelerator's own explanation.</summary>
public sealed class RequiresKvmFactAttribute : FactAttribute
{
    public RequiresKvmFactAttribute()
    {
        if (!new KvmAccelerator().IsAvailable(out string reason))
        {
            Skip = "Needs a KVM host: " + reason;
        }
    }
}
