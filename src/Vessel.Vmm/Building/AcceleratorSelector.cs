using Vessel.Core.Accel;
using Vessel.Vmm.Configuration;

namespace Vessel.Vmm.Building;

/// <summary>Picks the accelerator for a requested kind among those the composition root offers (by name: "kvm", "software").</summary>
public static class AcceleratorSelector
{
    /// <summary>The chosen accelerator and, for auto, a sentence saying what was picked and why.</summary>
    public static (IAccelerator Accelerator, string? Notice) Select(AcceleratorKind kind, IReadOnlyList<IAccelerator> offered)
    {
        IAccelerator? Find(string name) => offered.FirstOrDefault(a => string.Equals(a.Name, name, StringComparison.Ordinal));
        var kvm = Find("kvm");
        var software = Find("software");
        switch (kind)
        {
            case AcceleratorKind.Kvm:
                if (kvm == null)
                {
                    throw new ConfigurationException("--accel kvm: this build of Vessel has no KVM accelerator.");
                }

                if (!kvm.IsAvailable(out string reason))
                {
                    throw new ConfigurationException($"--accel kvm: {reason}");
                }

                return (kvm, null);
            case AcceleratorKind.Software:
                return (software ?? throw new ConfigurationException("--accel software: this build of Vessel has no software CPU."), null);
            default:
                string? passedOver = null;
                if (kvm != null && kvm.IsAvailable(out _))
                {
                    if (kvm.RunsGeneralGuests(out string limitation))
                    {
                        return (kvm, "using KVM hardware virtualization");
                    }

                    passedOver = limitation.TrimEnd('.');
                }

                if (software == null)
                {
                    throw new ConfigurationException("--accel auto: no accelerator is usable on this host.");
                }

                string because = kvm == null ? "this build has no KVM accelerator" : passedOver ?? UnavailableReason(kvm);
                return (software, $"using the software CPU: KVM is not usable ({because})");
        }
    }

    private static string UnavailableReason(IAccelerator accelerator)
    {
        accelerator.IsAvailable(out string reason);
        return reason.TrimEnd('.');
    }
}
