namespace Vessel.Server.Http;

/// <summary>
/// The dashboard's files, from <c>wwwroot</c> beside the assembly (the build copies them there, xterm.js from
/// Dashboard/node_modules after <c>npm ci</c>). Only these names are served: no directory walking.
/// </summary>
public sealed class DashboardFiles(string root)
{
    private static readonly Dictionary<string, (string File, string ContentType)> Files = new(StringComparer.Ordinal)
    {
        ["/"] = ("index.html", "text/html; charset=utf-8"),
        ["/index.html"] = ("index.html", "text/html; charset=utf-8"),
        ["/dashboard.js"] = ("dashboard.js", "text/javascript; charset=utf-8"),
        ["/dashboard.css"] = ("dashboard.css", "text/css; charset=utf-8"),
        ["/xterm/xterm.js"] = ("xterm/xterm.js", "text/javascript; charset=utf-8"),
        ["/xterm/xterm.css"] = ("xterm/xterm.css", "text/css; charset=utf-8"),
    };

    public bool Serves(string path) => Files.ContainsKey(path);

    /// <summary>The file for <paramref name="path"/>, or null with the reason when it was not built.</summary>
    public (string? Path, string ContentType, string? Missing) Find(string path)
    {
        var (file, contentType) = Files[path];
        string full = System.IO.Path.Combine(root, file);
        return File.Exists(full)
            ? (full, contentType, null)
            : (null, contentType, $"{file} is missing from {root}: build src/Vessel.Server with npm on the PATH (it runs npm ci in src/Vessel.Server/Dashboard).");
    }
}
