namespace Vessel.Vmm.Running;

/// <summary>Where a machine is in its life; <see cref="Machine"/> owns every transition.</summary>
public enum MachineState
{
    /// <summary>Built, vCPUs not yet started.</summary>
    Created,

    /// <summary>vCPUs run guest code.</summary>
    Running,

    /// <summary>Every vCPU is parked outside its run loop and the guest's clock stands still.</summary>
    Paused,

    /// <summary>The machine stopped (the guest, a device, a failure or the host ended it); it never runs again.</summary>
    Stopped,
}
