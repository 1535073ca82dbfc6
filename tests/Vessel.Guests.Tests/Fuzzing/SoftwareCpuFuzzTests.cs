using System.Globalization;
using Iced.Intel;
using Vessel.Core.Accel;
using Vessel.Core.Interrupts;
using Vessel.Core.Logging;
using Vessel.Core.Memory;
using Vessel.Testing.Images;
using Vessel.Testing.Serial;
using Vessel.Vmm.Building;
using Vessel.Vmm.Configuration;
using Vessel.Vmm.Running;
using Vessel.X86;
using Xunit.Abstractions;
using static Iced.Intel.AssemblerRegisters;

namespace Vessel.Guests.Tests.Fuzzing;

/// <summary>
/// Hostile guests, generated: random instruction bytes in real, 32-bit protected and 64-bit mode, and random port and
/// MMIO traffic, each in a whole machine (devices, interrupt controllers, the stop path). No exception may escape the VMM,
/// and each machine must end as hardware would (triple fault, reset, power-off, debug exit) or still be running when the
/// watchdog stops it. A fixed count runs per CI run; VESSEL_FUZZ_COUNT=N runs N programs per case, VESSEL_FUZZ_SEED=S
/// replays a reported seed (docs/reliability.md).
/// </summary>
public sealed class SoftwareCpuFuzzTests(ITestOutputHelper output)
{
    private const int DefaultProgramsPerCase = 25;
    private const ulong CodeAddress = 0x10_0000;
    private const int RandomCodeBytes = 96;

    /// <summary>A guest that runs this many instructions without ending is stopped by the watchdog (a loop is no fault).</summary>
    private const ulong InstructionBudget = 1_000_000;

    /// <summary>And one that runs this long (halted with interrupts off, say): the bound that keeps a CI run in seconds.</summary>
    private static readonly TimeSpan TimeBudget = TimeSpan.FromSeconds(1);

    public enum Mode
    {
        Real,
        Protected,
        Long,
        PortAndMmio,
    }

    private static int ProgramsPerCase =>
        int.TryParse(Environment.GetEnvironmentVariable("VESSEL_FUZZ_COUNT"), NumberStyles.None, CultureInfo.InvariantCulture, out int count) && count > 0
            ? count
            : DefaultProgramsPerCase;

    [Theory]
    [InlineData(Mode.Real)]
    [InlineData(Mode.Protected)]
    [InlineData(Mode.Long)]
    [InlineData(Mode.PortAndMmio)]
    public void Random_guests_end_as_hardware_would_and_never_crash_the_vmm(Mode mode)
    {
        int baseSeed = int.TryParse(Environment.GetEnvironmentVariable("VESSEL_FUZZ_SEED"), NumberStyles.Integer, CultureInfo.InvariantCulture, out int given)
            ? given
            : 0x5EED + (int)mode;
        var outcomes = new Dictionary<string, int>(StringComparer.Ordinal);
        string kernel = Elf64Program.WriteTemporary(a => a.hlt());
        try
        {
            for (int n = 0; n < ProgramsPerCase; n++)
            {
                int seed = baseSeed + (n * 7919);
                var stop = RunOne(kernel, mode, seed);
                string outcome = stop.Reason.ToString();
                outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
                Assert.True(
                    IsHardwareLikeEnd(stop),
                    $"{mode} guest with seed {seed} (replay: VESSEL_FUZZ_SEED={seed} VESSEL_FUZZ_COUNT=1) ended with {stop.Reason}: {stop.Detail}");
            }
        }
        finally
        {
            File.Delete(kernel);
        }

        output.WriteLine($"{mode}: {ProgramsPerCase} programs from seed {baseSeed}: " + string.Join(", ", outcomes.OrderBy(o => o.Key).Select(o => $"{o.Key} {o.Value}")));
    }

    /// <summary>
    /// What a machine may end with: anything a guest can cause on hardware, or our watchdog. A Failure is allowed only for
    /// the documented "jumped to non-RAM" stop (the CPU does not fetch from MMIO); one carrying a .NET exception never.
    /// </summary>
    private static bool IsHardwareLikeEnd(MachineStop stop) => stop.Reason switch
    {
        MachineStopReason.Shutdown or MachineStopReason.Reset or MachineStopReason.PowerOff or MachineStopReason.DebugExit or MachineStopReason.HostRequest => true,
        MachineStopReason.Failure => stop.Detail is { } detail && detail.Contains("which is not RAM", StringComparison.Ordinal) && !detail.Contains("Exception", StringComparison.Ordinal),
        _ => false,
    };

    private static MachineStop RunOne(string kernel, Mode mode, int seed)
    {
        var random = new Random(seed);
        var config = new MachineConfig { KernelPath = kernel, MemoryBytes = 16UL << 20, Accelerator = AcceleratorKind.Software };
        using var built = MachineBuilder.Build(config, new SoftwareAccelerator(), new CapturingSerialOutput(), NullMachineLog.Instance);
        var machine = built.Machine;
        var vcpu = (SoftwareVcpu)machine.Vcpus[0];
        switch (mode)
        {
            case Mode.Real:
                WriteRandomCode(machine.Memory, 0x8000, random, Exit(16));
                var real = VcpuBootState.PowerOnReset();
                real.Cs = SegmentState.RealMode(0x800, code: true);
                real.Rip = 0;
                real.Rsp = 0x7000;
                vcpu.SetBootState(real);
                break;
            case Mode.Protected:
                WriteRandomCode(machine.Memory, CodeAddress, random, Exit(32));
                vcpu.SetBootState(ProtectedModeState(CodeAddress));
                break;
            case Mode.Long:
                // The Linux 64-bit entry the builder set up: long mode, the first GiB identity-mapped, RIP at 1 MiB.
                WriteRandomCode(machine.Memory, CodeAddress, random, Exit(64));
                break;
            case Mode.PortAndMmio:
                machine.Memory.WriteBytes(new GuestAddress(CodeAddress), Assemble(32, CodeAddress, a => EmitRandomIo(a, random)));
                vcpu.SetBootState(ProtectedModeState(CodeAddress));
                break;
        }

        var watchdog = new Thread(() =>
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            SpinWait.SpinUntil(() => machine.IsStopped || vcpu.Cpu.InstructionsRetired > InstructionBudget || clock.Elapsed > TimeBudget, TimeSpan.FromSeconds(30));
            machine.RequestStop(MachineStop.HostRequest("stopped by the fuzz watchdog"));
        })
        { IsBackground = true };
        watchdog.Start();
        var stop = machine.Run();
        Assert.True(watchdog.Join(TimeSpan.FromSeconds(60)), "the watchdog did not finish");
        return stop;
    }

    private static VcpuBootState ProtectedModeState(ulong entry) => new()
    {
        Rip = entry,
        Rsp = 0x7000,
        Cr0 = 0x11,
        Cs = SegmentState.FlatCode32(0x10),
        Ds = SegmentState.FlatData(0x18),
        Es = SegmentState.FlatData(0x18),
        Fs = SegmentState.FlatData(0x18),
        Gs = SegmentState.FlatData(0x18),
        Ss = SegmentState.FlatData(0x18),
        Tr = new SegmentState(0, 0, 0xFFFF, SegmentAttributes.Present | (SegmentAttributes)11),
        Ldtr = new SegmentState(0, 0, 0, SegmentAttributes.None),
        Gdt = new DescriptorTableState(0x500, 0x27),
        Idt = new DescriptorTableState(0, 0),
    };

    /// <summary>Random bytes, then a debug exit for a program that falls through them without faulting.</summary>
    private static void WriteRandomCode(GuestMemory memory, ulong address, Random random, byte[] exit)
    {
        var code = new byte[RandomCodeBytes + exit.Length];
        random.NextBytes(code.AsSpan(0, RandomCodeBytes));
        exit.CopyTo(code, RandomCodeBytes);
        memory.WriteBytes(new GuestAddress(address), code);
    }

    /// <summary>mov al, 0x2a; out 0xf4, al; hlt: the same bytes in every mode (<paramref name="bitness"/> documents the caller's mode).</summary>
    private static byte[] Exit(int bitness) => bitness is 16 or 32 or 64 ? [0xB0, 0x2A, 0xE6, 0xF4, 0xF4] : throw new ArgumentOutOfRangeException(nameof(bitness));

    /// <summary>Writes and reads at random ports and at random addresses of the MMIO hole, the APICs and beyond RAM.</summary>
    private static void EmitRandomIo(Assembler a, Random random)
    {
        for (int i = 0; i < 200; i++)
        {
            uint value = (uint)random.NextInt64(0, 1L << 32);
            switch (random.Next(6))
            {
                case 0:
                    a.mov(dx, (ushort)random.Next(0x10000));
                    a.mov(eax, value);
                    switch (random.Next(3))
                    {
                        case 0:
                            a.@out(dx, al);
                            break;
                        case 1:
                            a.@out(dx, ax);
                            break;
                        default:
                            a.@out(dx, eax);
                            break;
                    }

                    break;
                case 1:
                    a.mov(dx, (ushort)random.Next(0x10000));
                    a.@in(al, dx);
                    break;
                case 2:
                    a.mov(__dword_ptr[0xFEE0_0000u + ((uint)random.Next(0x400) * 4)], value);
                    break;
                case 3:
                    a.mov(__dword_ptr[0xFEC0_0000u + ((uint)random.Next(0x10) * 4)], value);
                    break;
                case 4:
                    a.mov(__dword_ptr[0xC000_0000u + ((uint)random.Next(0x1000_0000) & ~3u)], value);
                    break;
                default:
                    a.mov(eax, __dword_ptr[0x0100_0000u + ((uint)random.Next(0x4000_0000) & ~3u)]);
                    break;
            }
        }

        a.mov(al, 0x2A);
        a.@out(0xF4, al);
        a.hlt();
    }

    private static byte[] Assemble(int bitness, ulong address, Action<Assembler> program)
    {
        var assembler = new Assembler(bitness);
        program(assembler);
        var stream = new MemoryStream();
        assembler.Assemble(new StreamCodeWriter(stream), address);
        return stream.ToArray();
    }
}
