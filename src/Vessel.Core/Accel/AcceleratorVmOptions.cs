namespace Vessel.Core.Accel;

/// <summary>What an accelerator needs to know about the machine before creating its VM.</summary>
public sealed record AcceleratorVmOptions(int VcpuCount);
