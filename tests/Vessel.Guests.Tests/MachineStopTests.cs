using System.Diagnostics;
using Assembler = Iced.Intel.Assembler;
using Vessel.Core.Interrupts;
using Vessel.Core.Logging;
using Vessel.Testing.Images;
using Vessel.Testing.Serial;
using Vessel.Vmm.Building;
using Vessel.Vmm.Configuration;
using Vessel.X86;
using static Iced.Intel.AssemblerRegisters;

namespace Vessel.Guests.Tests;

/// <summary>A host stop ends the machine promptly, whatever its vCPUs are doing.</summary>
public class MachineStopTests
{
    /// <summary>Generous for a loaded 2-core host; before the stop path was fixed, 64 idle vCPUs took 15 s to minutes.</summary>
    private static readonly TimeSpan StopBound = TimeSpan.FromSeconds(10);

    [Theory]
    [InlineData(1)]
    [InlineData(64)]
    public void A_host_stop_ends_a_machine_of_idle_vcpus_within_the_bound(int vcpus)
    {
        // The bootstrap processor halts with interrupts off; the application processors wait for a STARTUP that never comes.
        var elapsed = StopWhenHalted(a =>
        {
            a.cli();
            a.hlt();
        }, vcpus, out var stop);

        Assert.Equal(MachineStopReason.HostRequest, stop.Reason);
        Assert.True(elapsed < StopBound, $"the stop of {vcpus} idle vCPU(s) took {elapsed.TotalSeconds:0.0} s");
    }

    [Fact]
    public void Repeated_host_stops_of_a_halted_vcpu_each_end_the_machine()
    {
        // The race this guards: a vCPU that saw the kick before the stop was recorded re-entered its loop for good.
        for (int attempt = 0; attempt < 20; attempt++)
        {
            var elapsed = StopWhenHalted(a =>
            {
                // Both 8259s masked first: the firmware-state PIT would otherwise interrupt through an empty IDT.
                var loop = a.CreateLabel();
                a.mov(al, 0xFF);
                a.@out(0x21, al);
                a.@out(0xA1, al);
                a.sti();
                a.Label(ref loop);
                a.hlt();
                a.jmp(loop);
            }, 1, out var stop);

            Assert.Equal(MachineStopReason.HostRequest, stop.Reason);
            Assert.True(elapsed < StopBound, $"stop {attempt} took {elapsed.TotalSeconds:0.0} s");
        }
    }

    [Fact]
    public void A_stop_requested_while_a_vcpu_runs_ends_the_machine()
    {
        var elapsed = StopAfter(a =>
        {
            var loop = a.CreateLabel();
            a.Label(ref loop);
            a.inc(rax);
            a.jmp(loop);
        }, 4, vcpu => vcpu.Cpu.InstructionsRetired > 1000, out var stop);

        Assert.Equal(MachineStopReason.HostRequest, stop.Reason);
        Assert.True(elapsed < StopBound, $"the stop took {elapsed.TotalSeconds:0.0} s");
    }

    private static TimeSpan StopWhenHalted(Action<Assembler> program, int vcpus, out MachineStop stop) =>
        StopAfter(program, vcpus, vcpu => vcpu.Cpu.Halted, out stop);

    private static TimeSpan StopAfter(Action<Assembler> program, int vcpus, Func<SoftwareVcpu, bool> ready, out MachineStop stop)
    {
        string path = Elf64Program.WriteTemporary(program);
        try
        {
            var config = new MachineConfig
            {
                KernelPath = path,
                MemoryBytes = 64UL << 20,
                VcpuCount = vcpus,
                Accelerator = AcceleratorKind.Software,
            };
            using var built = MachineBuilder.Build(config, new SoftwareAccelerator(), new CapturingSerialOutput(), NullMachineLog.Instance);
            var machine = built.Machine;
            var bootstrap = (SoftwareVcpu)machine.Vcpus[0];
            var stopwatch = new Stopwatch();
            var stopper = new Thread(() =>
            {
                SpinWait.SpinUntil(() => ready(bootstrap) || machine.IsStopped, TimeSpan.FromSeconds(60));
                stopwatch.Start();
                machine.RequestStop(MachineStop.HostRequest());
            });
            stopper.Start();
            stop = machine.Run();
            stopwatch.Stop();
            Assert.True(stopper.Join(TimeSpan.FromSeconds(60)));
            return stopwatch.Elapsed;
        }
        finally
        {
            File.Delete(path);
        }
    }
}
