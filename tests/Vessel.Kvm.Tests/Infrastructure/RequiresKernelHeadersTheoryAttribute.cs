namespace Vessel.Kvm.Tests.Infrastructure;

/// <summary>A theory that is skipped, with the reason shown, where gcc or &lt;linux/kvm.h&gt; is missing.</summary>
public sealed class RequiresKernelHeadersTheoryAttribute : TheoryAttribute
{
    public RequiresKernelHeadersTheoryAttribute()
    {
        if (!KernelHeaderProbe.CanRun(out string reason))
        {
            Skip = reason;
        }
    }
}
