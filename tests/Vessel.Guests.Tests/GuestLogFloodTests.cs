using Vessel.Core.Bus;
using Vessel.Core.Interrupts;
using Vessel.Core.Logging;
using static Iced.Intel.AssemblerRegisters;

namespace Vessel.Guests.Tests;

/// <summary>Each message a guest can trigger, driven in a loop: the VMM's log stays a few lines long.</summary>
public sealed class GuestLogFloodTests
{
    private const int Repetitions = 100_000;

    /// <summary>Collects what the VMM logs, both levels, as StandardErrorLog -v would print it.</summary>
    private sealed class RecordingLog : IMachineLog
    {
        private readonly List<string> lines = [];

        public IReadOnlyList<string> Lines
        {
            get
            {
                lock (lines)
                {
                    return [.. lines];
                }
            }
        }

        public void Info(string message) => Add(message);

        public void Warn(string message) => Add(message);

        private void Add(string message)
        {
            lock (lines)
            {
                lines.Add(message);
            }
        }
    }

    [Fact]
    public void A_guest_hammering_the_acpi_reset_register_with_a_wrong_value_logs_a_few_lines()
    {
        var log = RunLoop(a =>
        {
            a.mov(dx, 0x606);
            a.mov(al, 0x02);
            a.@out(dx, al);
        });

        var warnings = log.Lines.Where(line => line.StartsWith("ACPI reset register", StringComparison.Ordinal)).ToList();
        Assert.InRange(warnings.Count, 1, LogRateLimiter.DefaultBurst);
    }

    [Fact]
    public void A_guest_probing_every_port_logs_a_bounded_number_of_unclaimed_accesses()
    {
        var log = new RecordingLog();
        var (stop, _) = BareMetalGuest.Run(a =>
        {
            // IN from each of the 65536 ports, then exit.
            var loop = a.CreateLabel();
            a.xor(edx, edx);
            a.Label(ref loop);
            a.@in(al, dx);
            a.inc(edx);
            a.cmp(edx, 0x10000);
            a.jb(loop);
            a.mov(al, 0);
            a.@out(0xF4, al);
            a.hlt();
        }, log: log);

        Assert.Equal(MachineStopReason.DebugExit, stop.Reason);
        int unclaimed = log.Lines.Count(line => line.Contains("reached no device", StringComparison.Ordinal));
        Assert.InRange(unclaimed, AddressBus.RememberedUnclaimedAddresses, AddressBus.RememberedUnclaimedAddresses + LogRateLimiter.DefaultBurst);
    }

    [Fact]
    public void A_guest_writing_unclaimed_mmio_across_a_wide_range_logs_a_bounded_number_of_lines()
    {
        var log = RunLoop(a =>
        {
            // RBX walks 8 bytes at a time from 256 MiB, past the guest's 64 MiB of RAM and inside the boot page tables' identity map.
            a.mov(__qword_ptr[rbx], eax);
            a.add(rbx, 8);
        }, setup: a => a.mov(ebx, 0x1000_0000));

        int unclaimed = log.Lines.Count(line => line.Contains("reached no device", StringComparison.Ordinal));
        Assert.InRange(unclaimed, 1, AddressBus.RememberedUnclaimedAddresses + LogRateLimiter.DefaultBurst);
    }

    [Fact]
    public void A_guest_sending_every_unknown_i8042_command_logs_a_few_lines()
    {
        var log = RunLoop(a =>
        {
            // Commands 0xB0-0xBF, none of which the controller emulates, round and round.
            a.inc(bl);
            a.mov(al, bl);
            a.and(al, 0x0F);
            a.or(al, 0xB0);
            a.@out(0x64, al);
        });

        int warnings = log.Lines.Count(line => line.StartsWith("i8042:", StringComparison.Ordinal));
        Assert.InRange(warnings, 1, LogRateLimiter.DefaultBurst);
    }

    [Fact]
    public void A_guest_asking_for_an_unsupported_sleep_state_in_a_loop_logs_one_line()
    {
        var log = RunLoop(a =>
        {
            a.mov(dx, 0x604);
            a.mov(ax, (3 << 10) | (1 << 13));
            a.@out(dx, ax);
        });

        Assert.Single(log.Lines, line => line.Contains("ACPI sleep type", StringComparison.Ordinal));
    }

    /// <summary>Runs <paramref name="body"/> <see cref="Repetitions"/> times (ECX counts), then exits through the debug port.</summary>
    private static RecordingLog RunLoop(Action<Iced.Intel.Assembler> body, Action<Iced.Intel.Assembler>? setup = null)
    {
        var log = new RecordingLog();
        var (stop, _) = BareMetalGuest.Run(a =>
        {
            var loop = a.CreateLabel();
            setup?.Invoke(a);
            a.mov(ecx, Repetitions);
            a.Label(ref loop);
            body(a);
            a.dec(ecx);
            a.jnz(loop);
            a.mov(al, 0);
            a.@out(0xF4, al);
            a.hlt();
        }, log: log);

        Assert.Equal(MachineStopReason.DebugExit, stop.Reason);
        return log;
    }
}
