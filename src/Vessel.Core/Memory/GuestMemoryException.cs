namespace Vessel.Core.Memory;

/// <summary>A host-side access to guest memory outside guest RAM (a loader or device bug, or a bad guest-supplied address that was not checked).</summary>
public sealed class GuestMemoryException(string message) : Exception(message);
