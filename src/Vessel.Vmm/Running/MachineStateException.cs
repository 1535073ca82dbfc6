namespace Vessel.Vmm.Running;

/// <summary>A lifecycle request the machine's current state does not allow (pausing a stopped machine, say).</summary>
public sealed class MachineStateException(string message) : Exception(message);
