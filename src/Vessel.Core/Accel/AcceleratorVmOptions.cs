using Vessel.Core.Accel.CpuModels;
using Vessel.Core.Time;

namespace Vessel.Core.Accel;

/// <summary>What an accelerator needs to know about the machine before creating its VM.</summary>
/// <param name="VcpuCount">The number of vCPUs.</param>
/// <param name="Cpu">The <c>--cpu</c> model; null for the accelerator's default CPU (everything it implements, as before <c>--cpu</c> existed).</param>
/// <param name="Clock">The guest's time, which the machine pauses; null for a clock of the VM's own that never pauses.</param>
/// <param name="CompilingTier">
/// <c>--jit</c>: whether the software CPU compiles hot blocks to host code; null for its default (the <c>VESSEL_JIT</c>
/// environment variable, else on). Accelerators without such a tier ignore it.
/// </param>
public sealed record AcceleratorVmOptions(int VcpuCount, CpuModelSpec? Cpu = null, VmClock? Clock = null, bool? CompilingTier = null);
