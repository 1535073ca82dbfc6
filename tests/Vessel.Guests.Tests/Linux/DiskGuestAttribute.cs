using System.Reflection;
using Xunit.Sdk;

namespace Vessel.Guests.Tests.Linux;

/// <summary>
/// One row of a Linux guest theory with disks that may need qemu-img to make or read an image: skipped with the reason
/// printed where the accelerator, the guest images or (when asked for) qemu-img are missing.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = true)]
public sealed class DiskGuestAttribute : DataAttribute
{
    private readonly string accelerator;
    private readonly int vcpus;

    public DiskGuestAttribute(string accelerator, int vcpus, bool needsQemuImg = false)
    {
        this.accelerator = accelerator;
        this.vcpus = vcpus;
        string? reason = GuestAccelerators.SkipReason(accelerator);
        if (reason == null && needsQemuImg && QemuImg.Path == null)
        {
            reason = "qemu-img is not installed (apt-get install qemu-utils, as scripts/test.sh does).";
        }

        Skip = reason!;
    }

    public override IEnumerable<object[]> GetData(MethodInfo testMethod) => [[accelerator, vcpus]];
}
