using System.Reflection;
using Xunit.Sdk;

namespace Vessel.Guests.Tests.Linux;

/// <summary>
/// One row of a Linux guest theory: an accelerator and a vCPU count. The row is skipped, with the reason printed, when
/// that accelerator cannot boot the Debian guest here or the guest images are not cached.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = true)]
public sealed class LinuxGuestAttribute : DataAttribute
{
    private readonly string accelerator;
    private readonly int vcpus;

    public LinuxGuestAttribute(string accelerator, int vcpus)
    {
        this.accelerator = accelerator;
        this.vcpus = vcpus;
        Skip = GuestAccelerators.SkipReason(accelerator)!;
    }

    public override IEnumerable<object[]> GetData(MethodInfo testMethod) => [[accelerator, vcpus]];
}
