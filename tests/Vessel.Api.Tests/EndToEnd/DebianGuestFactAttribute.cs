using Vessel.Vmm.Images;

namespace Vessel.Api.Tests.EndToEnd;

/// <summary>A fact that needs curl and (unless told otherwise) the cached Debian guest images; skipped, with the reason printed, without them.</summary>
public sealed class DebianGuestFactAttribute : FactAttribute
{
    public DebianGuestFactAttribute(bool needsImages = true)
    {
        if (needsImages && GuestImages.TryLoad(out string missing) == null)
        {
            Skip = $"Debian guest images are not cached ({missing}; run scripts/guest-images.sh, as scripts/test.sh does).";
        }
        else if (VesselProcess.FindOnPath("curl") == null)
        {
            Skip = "curl is not installed (apt-get install curl, as scripts/test.sh does).";
        }
    }
}
