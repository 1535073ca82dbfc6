namespace Vessel.Kvm.Tests.Infrastructure;

/// <summary>A fact that is skipped, with the reason shown, where gcc or &lt;linux/kvm.h&gt; is missing.</summary>
public sealed class RequiresKernelHeadersFactAttribute : FactAttribute
{
    public RequiresKernelHeadersFactAttribute()
    {
        if (!KernelHeaderProbe.CanRun(out string reason))
        {
            Skip = reason;
        }
    }
}
