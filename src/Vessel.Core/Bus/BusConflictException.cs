namespace Vessel.Core.Bus;

/// <summary>Two devices were registered over the same addresses: a machine-assembly bug.</summary>
public sealed class BusConflictException(string message) : Exception(message);
