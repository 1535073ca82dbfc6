namespace Vessel.Devices.Tests.Storage;

/// <summary>
/// A permission test that, run as root, repeats the open as uid 65534 through setpriv: skipped, with the reason, when that
/// user cannot reach the test's build output (a checkout under a 0700 folder such as mktemp -d makes).
/// </summary>
public sealed class RequiresUnprivilegedWriterFactAttribute : FactAttribute
{
    public RequiresUnprivilegedWriterFactAttribute()
    {
        if (Environment.UserName != "root")
        {
            return;
        }

        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder != null; folder = folder.Parent)
        {
            if ((folder.UnixFileMode & UnixFileMode.OtherExecute) == 0)
            {
                Skip = $"uid 65534 cannot reach the test's build output: '{folder.FullName}' is not searchable by others (clone the repository under a world-searchable folder to run it)";
                return;
            }
        }
    }
}
