namespace Vessel.Vmm.Snapshots;

/// <summary>
/// A snapshot that cannot be taken or restored here, for a reason outside the file itself: the machine is not paused, a
/// disk the snapshot names is missing, this host's CPU lacks what the guest used, the memory file cannot be written. The
/// message is one sentence naming it; nothing was applied to a running machine.
/// </summary>
public sealed class SnapshotException(string message, Exception? inner = null) : Exception(message, inner);
