using System.Reflection;
using Vessel.Guests.Tests.Linux;
using Vessel.Kvm;
using Xunit.Sdk;

namespace Vessel.Guests.Tests;

/// <summary>
/// One row of a bare-metal guest theory: an accelerator name (<see cref="GuestAccelerators"/>). The KVM row is skipped, with the
/// reason, where /dev/kvm is missing or unusable; bare-metal guests run on PVM hosts too, unlike stock Linux.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = true)]
public sealed class BareMetalAcceleratorAttribute : DataAttribute
{
    private readonly string accelerator;

    public BareMetalAcceleratorAttribute(string accelerator)
    {
        this.accelerator = accelerator;
        if (accelerator == GuestAccelerators.Kvm && !new KvmAccelerator().IsAvailable(out string reason))
        {
            Skip = $"KVM is not usable here: {reason}";
        }
    }

    public override IEnumerable<object[]> GetData(MethodInfo testMethod) => [[accelerator]];
}
