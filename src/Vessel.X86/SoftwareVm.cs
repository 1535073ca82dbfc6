using Vessel.Core.Accel;
using Vessel.Core.Logging;
using Vessel.Core.Memory;
using Vessel.X86.Cpu.Decoding;

namespace Vessel.X86;

/// <summary>
/// A VM on the software CPU: owns the VM-wide code cache and the vCPUs. Interrupt lines reach the emulated
/// interrupt controllers (PIC, IOAPIC, local APICs) once those exist; until then a raised line is logged once.
/// </summary>
public sealed class SoftwareVm : IAcceleratorVm
{
    private readonly GuestMemory memory;
    private readonly IMachineLog log;
    private readonly CodeCache codeCache;
    private readonly List<SoftwareVcpu> vcpus = [];
    private readonly HashSet<int> reportedLines = [];

    public SoftwareVm(GuestMemory memory, AcceleratorVmOptions options, IMachineLog log)
    {
        this.memory = memory;
        this.log = log;
        Options = options;
        codeCache = new CodeCache(memory);
    }

    public AcceleratorVmOptions Options { get; }

    public IReadOnlyList<SoftwareVcpu> Vcpus => vcpus;

    public IVcpu CreateVcpu(int index, IVcpuIo io)
    {
        var cpu = new Cpu.Cpu(memory, codeCache, io, log, apicId: index);
        codeCache.Attach(cpu);
        var vcpu = new SoftwareVcpu(index, cpu);
        lock (vcpus)
        {
            vcpus.Add(vcpu);
        }

        return vcpu;
    }

    public void SetIrqLine(int gsi, bool asserted)
    {
        if (!asserted)
        {
            return;
        }

        lock (reportedLines)
        {
            if (!reportedLines.Add(gsi))
            {
                return;
            }
        }

        log.Info($"interrupt line {gsi} raised, but the software accelerator has no interrupt controllers yet");
    }

    public void SendMsi(ulong address, uint data) => log.Info($"MSI 0x{address:x}/0x{data:x} dropped: no local APIC yet");

    public void Dispose()
    {
        foreach (var vcpu in vcpus)
        {
            vcpu.Dispose();
        }
    }
}
