namespace Vessel.Vmm.Configuration;

public enum AcceleratorKind
{
    /// <summary>KVM when /dev/kvm is usable, else the software CPU (the default).</summary>
    Auto,

    /// <summary>Hardware virtualization through /dev/kvm; fails with the reason when it is not usable.</summary>
    Kvm,

    /// <summary>Vessel's own x86-64 CPU.</summary>
    Software,
}
