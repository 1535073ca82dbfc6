using System.Diagnostics;
using Vessel.Core.Accel;
using Vessel.Core.Logging;
using Vessel.Core.Memory;
using Vessel.Kvm;

namespace Vessel.Bench;

/// <summary>
/// What a virtio doorbell and a completion interrupt cost under KVM, each way Vessel can do them: a real-mode guest makes N
/// 16-bit writes to one MMIO address, first as ordinary MMIO exits to a userspace handler that does nothing, then with the
/// address registered as an ioeventfd; the host then raises N MSIs through KVM_SIGNAL_MSI and through an irqfd route.
/// </summary>
public static class DoorbellCost
{
    private const ulong CodeAddress = 0x2000;
    private const ulong DoorbellAddress = 0x10_0000;
    private const ushort DebugExitPort = 0xF4;

    public static int Run(uint writes, int repeats)
    {
        var accelerator = new KvmAccelerator();
        if (!accelerator.IsAvailable(out string reason))
        {
            Console.Error.WriteLine($"KVM is not usable here: {reason}");
            return 1;
        }

        Console.WriteLine($"{writes} doorbell writes per run, {repeats} runs each; KVM host is {(KvmAccelerator.RunsStockLinux(out _) ? "hardware-assisted" : "PVM")}");
        for (int repeat = 0; repeat < repeats; repeat++)
        {
            double exits = TimeGuest(accelerator, writes, ioeventfd: false);
            double kernel = TimeGuest(accelerator, writes, ioeventfd: true);
            var (signalMsi, irqfd) = TimeInterrupts(accelerator, writes);
            Console.WriteLine(
                $"doorbell: MMIO exit {exits * 1e9 / writes:F0} ns, ioeventfd {kernel * 1e9 / writes:F0} ns; " +
                $"MSI: KVM_SIGNAL_MSI {signalMsi * 1e9 / writes:F0} ns, irqfd {irqfd * 1e9 / writes:F0} ns");
        }

        return 0;
    }

    private static double TimeGuest(KvmAccelerator accelerator, uint writes, bool ioeventfd)
    {
        byte[] count = BitConverter.GetBytes(writes);
        byte[] code =
        [
            0xBB, 0xFF, 0xFF,                                  // mov bx, 0xffff
            0x8E, 0xC3,                                        // mov es, bx      ([es:0x10] is 0x100000, above RAM)
            0x66, 0xB9, count[0], count[1], count[2], count[3], // mov ecx, writes
            0x26, 0xA3, 0x10, 0x00,                            // loop: mov [es:0x10], ax
            0x66, 0x49,                                        // dec ecx
            0x75, 0xF8,                                        // jnz loop
            0xE6, 0xF4,                                        // out 0xf4, al
            0xEB, 0xFE,                                        // jmp $
        ];
        using var memory = GuestMemory.Create(1 << 20);
        memory.WriteBytes(new GuestAddress(CodeAddress), code);
        using var vm = accelerator.CreateVm(memory, new AcceleratorVmOptions(1), NullMachineLog.Instance);
        using var doorbell = ioeventfd ? ((IKernelIoEvents)vm).RegisterMmioWrite(new GuestAddress(DoorbellAddress), 2) : null;
        var io = new DiscardingIo();
        using var vcpu = vm.CreateVcpu(0, io);
        io.Vcpu = vcpu;
        VcpuBootState state = VcpuBootState.PowerOnReset();
        state.Cs = SegmentState.RealMode(0, code: true);
        state.Rip = CodeAddress;
        vcpu.SetBootState(state);

        var stopwatch = Stopwatch.StartNew();
        VcpuExit exit = vcpu.Run();
        stopwatch.Stop();
        if (exit.Reason != VcpuExitReason.ExitRequested)
        {
            throw new InvalidOperationException($"The doorbell guest stopped with {exit.Reason}: {exit.Detail}");
        }

        ulong counted = doorbell?.Drain() ?? io.MmioWrites;
        if (counted != writes)
        {
            throw new InvalidOperationException($"Expected {writes} doorbells, saw {counted}.");
        }

        return stopwatch.Elapsed.TotalSeconds;
    }

    private static (double SignalMsi, double Irqfd) TimeInterrupts(KvmAccelerator accelerator, uint count)
    {
        using var memory = GuestMemory.Create(1 << 20);
        using var vm = accelerator.CreateVm(memory, new AcceleratorVmOptions(1), NullMachineLog.Instance);
        using var vcpu = vm.CreateVcpu(0, new DiscardingIo());
        using var route = ((IKernelIoEvents)vm).CreateMsiRoute() ?? throw new InvalidOperationException("KVM has no GSI for an MSI route.");
        route.SetMessage(0xFEE0_0000, 0x40);

        var stopwatch = Stopwatch.StartNew();
        for (uint i = 0; i < count; i++)
        {
            vm.SendMsi(0xFEE0_0000, 0x40);
        }

        double signalMsi = stopwatch.Elapsed.TotalSeconds;
        stopwatch.Restart();
        for (uint i = 0; i < count; i++)
        {
            route.Signal();
        }

        return (signalMsi, stopwatch.Elapsed.TotalSeconds);
    }

    private sealed class DiscardingIo : IVcpuIo
    {
        public IVcpu? Vcpu { get; set; }

        public ulong MmioWrites { get; private set; }

        public void PortRead(ushort port, Span<byte> data) => data.Clear();

        public void PortWrite(ushort port, ReadOnlySpan<byte> data)
        {
            if (port == DebugExitPort)
            {
                Vcpu?.RequestExit();
            }
        }

        public void MmioRead(ulong address, Span<byte> data) => data.Clear();

        public void MmioWrite(ulong address, ReadOnlySpan<byte> data) => MmioWrites++;
    }
}
