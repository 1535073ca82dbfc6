using Vessel.Core.Accel.CpuModels;

namespace Vessel.Core.Accel;

/// <summary>What an accelerator needs to know about the machine before creating its VM.</summary>
/// <param name="VcpuCount">The number of vCPUs.</param>
/// <param name="Cpu">The <c>--cpu</c> model; null for the accelerator's default CPU (everything it implements, as before <c>--cpu</c> existed).</param>
/// <param name="CompilingTier">
/// <c>--jit</c>: whether the software CPU compiles hot blocks to host code; null for its default (the <c>VESSEL_JIT</c>
/// environment variable, else off). Accelerators without such a tier ignore it.
/// </param>
public sealed record AcceleratorVmOptions(int VcpuCount, CpuModelSpec? Cpu = null, bool? CompilingTier = null);
