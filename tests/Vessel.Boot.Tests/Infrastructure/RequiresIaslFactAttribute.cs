namespace Vessel.Boot.Tests.Infrastructure;

/// <summary>A fact that is skipped, with the reason shown, where ACPICA's iasl is not installed.</summary>
public sealed class RequiresIaslFactAttribute : FactAttribute
{
    public RequiresIaslFactAttribute()
    {
        if (Iasl.Path == null)
        {
            Skip = "Needs iasl (Debian package acpica-tools; scripts/test.sh installs it when run as root).";
        }
    }
}
