using Vessel.Core.Accel.CpuModels;

namespace Vessel.Core.Accel;

/// <summary>What an accelerator needs to know about the machine before creating its VM.</summary>
/// <param name="VcpuCount">The number of vCPUs.</param>
/// <param name="Cpu">The <c>--cpu</c> model; null for the accelerator's default CPU (everything it implements, as before <c>--cpu</c> existed).</param>
public sealed record AcceleratorVmOptions(int VcpuCount, CpuModelSpec? Cpu = null);
