using Vessel.Core.Accel;
using Vessel.Core.Accel.State;
using Vessel.Core.Logging;
using Vessel.Core.Memory;
using Vessel.Core.Snapshots;
using Vessel.Core.Time;
using Vessel.X86.Apic;
using Vessel.X86.Cpu;
using Vessel.X86.Cpu.Decoding;
using Vessel.X86.Cpu.Jit;
using Vessel.X86.Hypercalls;
using Vessel.X86.IrqChip;
using Vessel.X86.Timers;

namespace Vessel.X86;

/// <summary>
/// A VM on the software CPU: owns the VM-wide code cache, the vCPUs, and the chips KVM would emulate in-kernel with
/// KVM_CREATE_IRQCHIP and KVM_CREATE_PIT2: a local APIC per vCPU, the IOAPIC, the 8259 pair and the 8254 PIT.
/// </summary>
/// <remarks>
/// Interrupt lines follow KVM's default GSI routing (virt/kvm/irqchip.c default_routing): GSI n drives IOAPIC pin n,
/// and for n below 16 also PIC IRQ n. The PIT raises GSI 0, so it reaches PIC IRQ 0 and IOAPIC pin 0; there is no
/// IRQ 0 to pin 2 override, and MP/ACPI tables describing this machine must not declare one.
/// </remarks>
public sealed class SoftwareVm : IAcceleratorVm
{
    /// <summary>GSIs 0-15 reach the PIC as well as the IOAPIC.</summary>
    public const int IsaIrqCount = 16;

    private readonly GuestMemory memory;
    private readonly IMachineLog log;
    private readonly CodeCache codeCache;
    private readonly CpuidTemplate cpuid;
    private readonly KvmHypercalls hypercalls;
    private readonly List<SoftwareVcpu> vcpus = [];
    private readonly HashSet<int> reportedLines = [];

    public SoftwareVm(GuestMemory memory, AcceleratorVmOptions options, IMachineLog log)
    {
        this.memory = memory;
        this.log = log;
        Options = options;
        codeCache = new CodeCache(memory);
        memory.AddWriteObserver(codeCache);
        cpuid = SoftwareCpuModel.Create(options.Cpu, options.VcpuCount, log);
        ApicBus = new ApicBus();
        Pic = new DualPic(ApicBus.OnExternalInterruptOutputChanged);
        Pic.InitializeAsFirmware();
        IoApic = new IoApic(ApicBus);
        ApicBus.ExternalInterrupts = Pic;
        ApicBus.EndOfInterruptListener = IoApic;
        Clock = options.Clock ?? new VmClock();
        Pit = new Pit8254(level => SetIrqLine(0, level), Clock.GetTimestamp);
        Pit.InitializeAsFirmware();
        hypercalls = new KvmHypercalls(ApicBus);
    }

    public AcceleratorVmOptions Options { get; }

    /// <summary>The guest's time: every vCPU's TSC and LAPIC timer, and the PIT.</summary>
    public VmClock Clock { get; }

    public IReadOnlyList<SoftwareVcpu> Vcpus => vcpus;

    public ApicBus ApicBus { get; }

    public DualPic Pic { get; }

    public IoApic IoApic { get; }

    public Pit8254 Pit { get; }

    public IVcpu CreateVcpu(int index, IVcpuIo io)
    {
        var vcpuIo = new SoftwareVcpuIo(io, Pic, Pit, IoApic);
        BackgroundCompiler.Shared.Log ??= log;
        var cpu = new Cpu.Cpu(memory, codeCache, vcpuIo, log, cpuid, apicId: index)
        {
            IsBootstrapProcessor = index == 0,
            CompilingTier = CompilingTierSettings.Resolve(Options.CompilingTier),
            Clock = Clock,
        };
        var apic = new LocalApic(cpu, ApicBus, (uint)index, bootstrapProcessor: index == 0);
        vcpuIo.LocalApic = apic;
        cpu.InterruptController = apic;
        cpu.MsrExtension = apic;
        cpu.Hypercalls = hypercalls;
        ApicBus.Attach(apic);
        codeCache.Attach(cpu);
        var vcpu = new SoftwareVcpu(index, cpu, apic);
        lock (vcpus)
        {
            vcpus.Add(vcpu);
        }

        return vcpu;
    }

    public void SetIrqLine(int gsi, bool asserted)
    {
        if (gsi < IsaIrqCount)
        {
            Pic.SetIrq(gsi, asserted);
        }

        if (gsi < IoApic.PinCount)
        {
            IoApic.SetLevel(gsi, asserted);
            return;
        }

        lock (reportedLines)
        {
            if (!reportedLines.Add(gsi))
            {
                return;
            }
        }

        log.Warn($"interrupt line {gsi} is beyond the IOAPIC's {IoApic.PinCount} pins; ignored (logged once)");
    }

    public void SendMsi(ulong address, uint data) => ApicBus.DeliverMessageSignalled(address, data);

    /// <summary>The whole accelerator state in the neutral layout, each vCPU's and each chip's.</summary>
    public AcceleratorState CaptureState()
    {
        var states = new VcpuState[vcpus.Count];
        for (int i = 0; i < states.Length; i++)
        {
            states[i] = vcpus[i].GetState();
        }

        return new AcceleratorState { Kind = "software", Vcpus = states, IoApic = IoApic.GetState(), Pic = Pic.GetState(), Pit = Pit.GetState() };
    }

    public void SaveState(StateWriter writer) => CaptureState().Write(writer);

    /// <summary>
    /// Reads the whole of a saved state (either accelerator's), checks every vCPU can take its part, and only then applies
    /// it: chips first, then each CPU and its APIC. Decoded and compiled code is dropped VM-wide, since the memory under
    /// it may have been replaced with the snapshot's.
    /// </summary>
    public void RestoreState(StateReader reader)
    {
        var state = AcceleratorState.Read(reader, vcpus.Count);
        for (int i = 0; i < vcpus.Count; i++)
        {
            if (vcpus[i].CheckState(state.Vcpus[i]) is { } problem)
            {
                throw reader.Malformed($"vCPU {i} cannot be restored on the software CPU: {problem}");
            }
        }

        ApplyState(state);
    }

    public void ApplyState(AcceleratorState state)
    {
        codeCache.OnExternalWrite(0, memory.TotalSize);
        IoApic.SetState(state.IoApic);
        Pic.SetState(state.Pic);
        Pit.SetState(state.Pit);
        for (int i = 0; i < vcpus.Count; i++)
        {
            vcpus[i].SetState(state.Vcpus[i]);
        }
    }

    /// <summary>
    /// CPU stores reach RAM through the soft TLB's write entries, filled only on a slow-path translation: with logging on
    /// each fill marks its page dirty, so dropping every vCPU's write entries here makes the next store to any page seen.
    /// Costs nothing while logging is off.
    /// </summary>
    public void StartDirtyLog()
    {
        foreach (var vcpu in Vcpus)
        {
            vcpu.Cpu.StartDirtyLog();
        }
    }

    /// <summary>
    /// Asks each vCPU to drop its write entries at its next block boundary, marking their pages dirty as it does, so a
    /// store through an entry filled before this call is never missed; pages written before the call are in guest
    /// memory's log already (marked when their entries were filled).
    /// </summary>
    public void CollectDirtyPages()
    {
        foreach (var vcpu in Vcpus)
        {
            vcpu.Cpu.RequestDirtyLogSync();
        }
    }

    public void Dispose()
    {
        Pit.Dispose();
        foreach (var vcpu in vcpus)
        {
            vcpu.Dispose();
        }
    }
}
