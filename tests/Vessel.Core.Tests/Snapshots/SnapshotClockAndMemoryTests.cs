using System.Diagnostics;
using Vessel.Core.Memory;
using Vessel.Core.Snapshots;
using Vessel.Core.Time;

namespace Vessel.Core.Tests.Snapshots;

public sealed class SnapshotClockAndMemoryTests
{
    [Fact]
    public void A_restored_clock_stands_at_the_saved_guest_time_and_runs_on_from_it()
    {
        var source = new VmClock();
        source.Pause();
        var writer = new StateWriter();
        source.SaveState(writer);
        long saved = source.GetTimestamp();

        var target = new VmClock();
        target.Pause();
        target.RestoreState(new StateReader(writer.ToArray(), "test"), 1);

        Assert.Equal(saved, target.GetTimestamp());
        var again = new StateWriter();
        target.SaveState(again);
        Assert.Equal(writer.ToArray(), again.ToArray());

        target.Resume();
        long after = target.GetTimestamp();
        Assert.InRange(after, saved, saved + (Stopwatch.Frequency * 10));
    }

    [Fact]
    public void A_restored_clocks_wall_time_is_the_hosts_now_not_the_saved_one()
    {
        var source = new VmClock(new DateTimeOffset(2001, 1, 1, 0, 0, 0, TimeSpan.Zero));
        source.Pause();
        var writer = new StateWriter();
        source.SaveState(writer);

        var target = new VmClock(new DateTimeOffset(2001, 1, 1, 0, 0, 0, TimeSpan.Zero));
        target.Pause();
        target.RestoreState(new StateReader(writer.ToArray(), "test"), 1);

        Assert.Equal(DateTimeOffset.UtcNow, target.GetUtcNow(), TimeSpan.FromSeconds(5));
    }

    [Fact]
    public void A_clock_is_saved_and_restored_only_while_paused()
    {
        var running = new VmClock();

        Assert.Throws<InvalidOperationException>(() => running.SaveState(new StateWriter()));
        var writer = new StateWriter();
        writer.WriteInt64(Stopwatch.Frequency);
        writer.WriteInt64(1);
        Assert.Throws<InvalidOperationException>(() => running.RestoreState(new StateReader(writer.ToArray(), "test"), 1));
    }

    [Fact]
    public void A_saved_clock_with_a_negative_time_is_refused()
    {
        var writer = new StateWriter();
        writer.WriteInt64(Stopwatch.Frequency);
        writer.WriteInt64(-5);
        var clock = new VmClock();
        clock.Pause();

        Assert.Throws<SnapshotFormatException>(() => clock.RestoreState(new StateReader(writer.ToArray(), "test"), 1));
    }

    [Fact]
    public void Memory_mapped_from_a_file_reads_its_pages_and_never_writes_to_it()
    {
        string path = Path.GetTempFileName();
        try
        {
            var contents = new byte[2 << 20];
            contents[0x1234] = 0xAB;
            contents[(1 << 20) + 7] = 0xCD;
            File.WriteAllBytes(path, contents);

            using (var memory = GuestMemory.MapFile(path, 2 << 20))
            {
                Assert.Equal(0xAB, memory.Read<byte>(new GuestAddress(0x1234)));
                Assert.Equal(0xCD, memory.Read<byte>(new GuestAddress((1 << 20) + 7)));
                memory.Write<byte>(new GuestAddress(0x1234), 0x11);
                Assert.Equal(0x11, memory.Read<byte>(new GuestAddress(0x1234)));
                Assert.Equal(Path.GetFullPath(path), memory.BackingFile);
            }

            Assert.Equal(0xAB, File.ReadAllBytes(path)[0x1234]);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_memory_file_shorter_than_the_guests_ram_is_refused_with_both_sizes()
    {
        string path = Path.GetTempFileName();
        try
        {
            File.WriteAllBytes(path, new byte[1 << 20]);

            var exception = Assert.Throws<GuestMemoryException>(() => GuestMemory.MapFile(path, 2 << 20));

            Assert.Contains($"{1 << 20} bytes", exception.Message);
            Assert.Contains($"{2 << 20} bytes", exception.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_missing_memory_file_is_refused_naming_it()
    {
        string path = Path.Combine(Path.GetTempPath(), $"vessel-missing-{Guid.NewGuid():N}.mem");

        var exception = Assert.Throws<GuestMemoryException>(() => GuestMemory.MapFile(path, 2 << 20));

        Assert.Contains(path, exception.Message);
    }
}
