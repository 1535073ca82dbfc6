using Vessel.Core.Accel;
using Vessel.Core.Logging;
using Vessel.Core.Memory;

namespace Vessel.X86;

/// <summary>Runs guests on Vessel's own x86-64 CPU: available on any host.</summary>
public sealed class SoftwareAccelerator : IAccelerator
{
    public string Name => "software";

    public bool IsAvailable(out string reason)
    {
        reason = string.Empty;
        return true;
    }

    public IAcceleratorVm CreateVm(GuestMemory memory, AcceleratorVmOptions options, IMachineLog log) =>
        new SoftwareVm(memory, options, log);
}
