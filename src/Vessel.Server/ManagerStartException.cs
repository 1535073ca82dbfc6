namespace Vessel.Server;

/// <summary>The daemon cannot start: its socket, address or state folder is unusable. The message says what to do.</summary>
public sealed class ManagerStartException(string message) : Exception(message);
