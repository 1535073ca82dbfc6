namespace Vessel.Devices.Tests.Storage;

/// <summary>A theory that is skipped, with the reason shown, where qemu-img or qemu-io is missing.</summary>
public sealed class RequiresQemuTheoryAttribute : TheoryAttribute
{
    public RequiresQemuTheoryAttribute()
    {
        if (QemuTools.MissingReason is { } reason)
        {
            Skip = reason;
        }
    }
}
