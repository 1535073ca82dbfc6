using Vessel.Core.Accel;
using Vessel.Kvm;
using Vessel.Vmm.Images;
using Vessel.X86;

namespace Vessel.Guests.Tests.Linux;

/// <summary>
/// The accelerators a Linux guest test runs on, by name, and why one cannot run here. Each test is a theory over these names,
/// and every row runs wherever its accelerator can boot the Debian kernel.
/// </summary>
public static class GuestAccelerators
{
    public const string Kvm = "kvm";
    public const string Software = "software";


    public static IAccelerator Create(string name) => name switch
    {
        Kvm => new KvmAccelerator(),
        Software => new SoftwareAccelerator(),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "Known accelerators: kvm, software."),
    };

    /// <summary>How long a boot to userspace may take: seconds under KVM; the software CPU interprets every instruction.</summary>
    public static TimeSpan BootTimeout(string name) => name == Kvm ? TimeSpan.FromMinutes(2) : TimeSpan.FromMinutes(30);

    /// <summary>Null when the cached images are of <paramref name="revision"/> or later; otherwise the sentence a skipped test prints.</summary>
    public static string? ImageRevisionMissing(int revision) =>
        GuestImages.TryLoad(out _) is { } images && images.Revision < revision
            ? $"the guest image cache in {images.Directory} is revision {images.Revision}; this test needs revision {revision}: run scripts/guest-images.sh to upgrade it."
            : null;

    /// <summary>Null when a Linux guest can run on <paramref name="name"/> here; otherwise the sentence a skipped test prints.</summary>
    public static string? SkipReason(string name)
    {
        if (GuestImages.TryLoad(out string missing) == null)
        {
            return $"Debian guest images are not cached ({missing}; run scripts/guest-images.sh, as scripts/test.sh does).";
        }

        switch (name)
        {
            case Kvm:
                if (!new KvmAccelerator().IsAvailable(out string reason))
                {
                    return $"KVM is not usable here: {reason}";
                }

                return KvmAccelerator.RunsStockLinux(out string stock) ? null : $"KVM cannot boot stock Linux here: {stock}";
            case Software:
                return null;
            default:
                return $"unknown accelerator '{name}'.";
        }
    }
}
