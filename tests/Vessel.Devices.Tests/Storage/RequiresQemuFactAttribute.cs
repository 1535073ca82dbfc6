namespace Vessel.Devices.Tests.Storage;

/// <summary>A fact that is skipped, with the reason shown, where qemu-img or qemu-io is missing.</summary>
public sealed class RequiresQemuFactAttribute : FactAttribute
{
    public RequiresQemuFactAttribute()
    {
        if (QemuTools.MissingReason is { } reason)
        {
            Skip = reason;
        }
    }
}
