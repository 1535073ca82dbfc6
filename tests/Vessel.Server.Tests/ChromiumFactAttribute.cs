namespace Vessel.Server.Tests;

/// <summary>A fact that drives Debian's chromium through Playwright; skipped, with the reason printed, without it.</summary>
public sealed class ChromiumFactAttribute : FactAttribute
{
    public const string ChromiumPath = "/usr/bin/chromium";

    public ChromiumFactAttribute()
    {
        if (!File.Exists(ChromiumPath))
        {
            Skip = $"{ChromiumPath} is not installed (apt-get install chromium, as scripts/test.sh does).";
        }
        else if (!File.Exists(Path.Combine(AppContext.BaseDirectory, "wwwroot", "xterm", "xterm.js")))
        {
            Skip = "xterm.js is not installed (npm ci in src/Vessel.Server/Dashboard, which the build runs when npm is on the PATH, as scripts/test.sh makes sure).";
        }
    }
}
