using System.Diagnostics;
using Vessel.X86.Timers;

namespace Vessel.X86.Tests.Timers;

public class Pit8254Tests
{
    /// <summary>Stopwatch ticks for <paramref name="clocks"/> PIT input clocks.</summary>
    private static long Ticks(long clocks) => clocks * Stopwatch.Frequency / Pit8254.InputFrequencyHz;

    private sealed class Harness : IDisposable
    {
        public Harness() => Pit = new Pit8254(level => Levels.Add(level), () => Now);

        public long Now { get; set; } = 1_000_000;

        public List<bool> Levels { get; } = [];

        public Pit8254 Pit { get; }

        public void Dispose() => Pit.Dispose();

        public void Program(int channel, int mode, int count)
        {
            Pit.WritePort(0x43, (byte)((channel << 6) | 0x30 | (mode << 1)));
            Pit.WritePort((ushort)(0x40 + channel), (byte)count);
            Pit.WritePort((ushort)(0x40 + channel), (byte)(count >> 8));
        }

        public int ReadCount(int channel)
        {
            int low = Pit.ReadPort((ushort)(0x40 + channel));
            return low | (Pit.ReadPort((ushort)(0x40 + channel)) << 8);
        }
    }

    [Fact]
    public void The_count_runs_down_at_1_193182_mhz()
    {
        using var h = new Harness();
        h.Program(0, 2, 10000);

        h.Now += Ticks(1000);

        Assert.InRange(h.ReadCount(0), 8999, 9001);
    }

    [Fact]
    public void A_latched_count_stays_while_the_counter_runs()
    {
        using var h = new Harness();
        h.Program(0, 0, 5000);
        h.Now += Ticks(100);
        h.Pit.WritePort(0x43, 0x00);

        h.Now += Ticks(1000);

        Assert.InRange(h.ReadCount(0), 4899, 4901);
        Assert.InRange(h.ReadCount(0), 3899, 3901);
    }

    [Fact]
    public void Read_back_latches_the_status_byte_with_output_access_and_mode()
    {
        using var h = new Harness();
        h.Program(2, 0, 100);
        h.Now += Ticks(200);

        h.Pit.WritePort(0x43, 0xE8);

        Assert.Equal(0x80 | 0x30 | (0 << 1), h.Pit.ReadPort(0x42));
    }

    [Fact]
    public void Port_0x61_shows_channel_2_gate_and_output_and_a_toggling_refresh_bit()
    {
        using var h = new Harness();
        h.Pit.WritePort(0x61, 0x01);
        h.Program(2, 0, 1000);
        Assert.Equal(0, h.Pit.ReadPort(0x61) & 0x20);
        Assert.Equal(1, h.Pit.ReadPort(0x61) & 0x01);

        h.Now += Ticks(1001);
        Assert.Equal(0x20, h.Pit.ReadPort(0x61) & 0x20);

        var refresh = new HashSet<int>();
        for (int i = 0; i < 4; i++)
        {
            h.Now += Stopwatch.Frequency / 100_000;
            refresh.Add(h.Pit.ReadPort(0x61) & 0x10);
        }

        Assert.Equal(2, refresh.Count);
    }

    [Fact]
    public void Channel_0_in_mode_2_pulses_irq_0_every_period()
    {
        using var h = new Harness();
        h.Program(0, 2, 11932);
        long start = h.Now;

        h.Now = start + Ticks(11932) + 1;
        h.Pit.Poll();
        h.Now = start + (2 * Ticks(11932)) + 2;
        h.Pit.Poll();

        Assert.Equal([true, false, true, false], h.Levels);
    }

    [Fact]
    public void Channel_0_in_mode_0_fires_once()
    {
        using var h = new Harness();
        h.Program(0, 0, 11932);

        h.Now += 3 * Ticks(11932);
        h.Pit.Poll();
        h.Now += 3 * Ticks(11932);
        h.Pit.Poll();

        Assert.Equal([true, false], h.Levels);
        Assert.Equal(long.MaxValue, h.Pit.NextInterrupt);
    }
}
