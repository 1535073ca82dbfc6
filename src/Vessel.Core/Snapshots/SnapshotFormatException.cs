namespace Vessel.Core.Snapshots;

/// <summary>
/// A snapshot that cannot be restored as it is: truncated, corrupted, from an unknown format version, or describing a
/// machine this one cannot become. The message names the section and what was wrong, so a user knows which file to
/// replace; a restore that meets one is abandoned before any state is applied.
/// </summary>
public sealed class SnapshotFormatException(string message) : Exception(message);
