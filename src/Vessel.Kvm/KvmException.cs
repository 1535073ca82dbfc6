namespace Vessel.Kvm;

/// <summary>A host-side KVM problem; its message says what went wrong and what to do, and the CLI prints it as it is.</summary>
public abstract class KvmException(string message) : Exception(message);
