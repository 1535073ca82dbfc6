namespace Vessel.Kvm;

/// <summary>KVM cannot be used on this host (no /dev/kvm, no permission, an old kernel, a missing capability, refused memory).</summary>
public sealed class KvmUnavailableException(string message) : KvmException(message);
