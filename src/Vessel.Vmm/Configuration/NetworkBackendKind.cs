namespace Vessel.Vmm.Configuration;

/// <summary>Where a virtio-net interface's frames go on the host.</summary>
public enum NetworkBackendKind
{
    /// <summary>User-mode networking through passt: no root, no host set-up, QEMU's 10.0.2.0/24 view.</summary>
    User,

    /// <summary>A host TAP device (<see cref="NetworkInterfaceConfig.HostDeviceName"/>), to join a bridge.</summary>
    Tap,
}
