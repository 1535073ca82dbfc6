namespace Vessel.Core.Files;

/// <summary>A host file the VMM was given cannot be used; the message says which, why, and what to give instead.</summary>
public sealed class HostFileException(string message, Exception? inner = null) : Exception(message, inner);
