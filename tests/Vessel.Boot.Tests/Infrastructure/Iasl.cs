namespace Vessel.Boot.Tests.Infrastructure;

/// <summary>Where ACPICA's iasl compiler/disassembler is, if it is on PATH.</summary>
public static class Iasl
{
    public static string? Path { get; } =
        (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(directory => System.IO.Path.Combine(directory, "iasl"))
            .FirstOrDefault(File.Exists);
}
