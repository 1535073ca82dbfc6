using Iced.Intel;
using Vessel.Core.Interrupts;
using Vessel.Core.Logging;
using Vessel.Guests.Tests.Linux;
using Vessel.Testing.Images;
using Vessel.Testing.Serial;
using Vessel.Vmm.Building;
using Vessel.Vmm.Configuration;
using Vessel.Vmm.Running;
using Vessel.Vmm.Snapshots;
using Vessel.X86;
using static Iced.Intel.AssemblerRegisters;

namespace Vessel.Guests.Tests;

/// <summary>
/// A bare-metal guest on the software CPU that counts in memory and sends each count's low byte to COM1, snapshotted
/// and restored into a new machine: the restored guest must send the next count, with nothing lost or repeated.
/// </summary>
public sealed class SnapshotGuestTests : IDisposable
{
    private const ulong CounterAddress = 0x20_0000;
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);

    private readonly string folder = Directory.CreateTempSubdirectory("vessel-snapshot-").FullName;
    private readonly string kernelPath = Elf64Program.WriteTemporary(CountOnTheConsole);

    public void Dispose()
    {
        File.Delete(kernelPath);
        Directory.Delete(folder, recursive: true);
    }

    [Theory]
    [BareMetalAccelerator(GuestAccelerators.Software)]
    [BareMetalAccelerator(GuestAccelerators.Kvm)]
    public void A_restored_guest_sends_the_next_count_after_a_full_and_then_a_diff_snapshot(string accelerator)
    {
        var config = new MachineConfig
        {
            KernelPath = kernelPath,
            MemoryBytes = 64UL << 20,
            VcpuCount = 2,
            TrackDirtyPages = true,
        };
        string state = Path.Combine(folder, "vm.snap");
        string memory = Path.Combine(folder, "vm.mem");

        var firstConsole = new CapturingSerialOutput();
        string before;
        using (var built = MachineBuilder.Build(config, GuestAccelerators.Create(accelerator), firstConsole, NullMachineLog.Instance))
        {
            built.Machine.Start();
            WaitForBytes(firstConsole, 20);
            built.Machine.Pause();
            before = firstConsole.Text;
            var result = MachineSnapshot.Create(built, SnapshotType.Full, state, memory);
            Assert.True(result.MemoryBytesWritten > 0);
            Stop(built.Machine);
        }

        // A full memory file is sparse: far less than 64 MiB of this guest's RAM was ever written.
        Assert.Equal(64L << 20, new FileInfo(memory).Length);

        // The kernel is in the snapshot's memory: a restore does not need its file.
        File.Delete(kernelPath);

        var secondConsole = new CapturingSerialOutput();
        string afterFirstRestore;
        string diffMemory = Path.Combine(folder, "vm-diff.mem");
        File.Copy(memory, diffMemory);
        var restored = MachineSnapshot.Restore(state, memory, resume: true, trackDirtyPages: true, config => GuestAccelerators.Create(config.Accelerator == AcceleratorKind.Kvm ? GuestAccelerators.Kvm : GuestAccelerators.Software), secondConsole, NullMachineLog.Instance);
        using (restored.Built)
        {
            Assert.Equal(MachineState.Running, restored.Built.Machine.State);
            Assert.Equal(accelerator, restored.Built.Machine.AcceleratorName);
            WaitForBytes(secondConsole, 20);
            restored.Built.Machine.Pause();
            afterFirstRestore = secondConsole.Text;
            var diff = MachineSnapshot.Create(restored.Built, SnapshotType.Diff, state, diffMemory);
            Assert.InRange(diff.MemoryBytesWritten, 4096, 1L << 20);
            Stop(restored.Built.Machine);
        }

        AssertCountsOnFrom(before, afterFirstRestore);

        var thirdConsole = new CapturingSerialOutput();
        var again = MachineSnapshot.Restore(state, diffMemory, resume: false, trackDirtyPages: false, config => GuestAccelerators.Create(config.Accelerator == AcceleratorKind.Kvm ? GuestAccelerators.Kvm : GuestAccelerators.Software), thirdConsole, NullMachineLog.Instance);
        using (again.Built)
        {
            Assert.Equal(MachineState.Paused, again.Built.Machine.State);
            again.Built.Machine.Resume();
            WaitForBytes(thirdConsole, 5);
            Stop(again.Built.Machine);
        }

        AssertCountsOnFrom(afterFirstRestore, thirdConsole.Text);
    }

    [Fact]
    public void A_snapshot_of_a_running_machine_is_refused_and_so_is_a_diff_without_the_dirty_log()
    {
        var config = new MachineConfig { KernelPath = kernelPath, MemoryBytes = 16UL << 20, Accelerator = AcceleratorKind.Software };
        using var built = MachineBuilder.Build(config, new SoftwareAccelerator(), new CapturingSerialOutput(), NullMachineLog.Instance);
        built.Machine.Start();
        string state = Path.Combine(folder, "refused.snap");
        string memory = Path.Combine(folder, "refused.mem");

        var running = Assert.Throws<SnapshotException>(() => MachineSnapshot.Create(built, SnapshotType.Full, state, memory));
        Assert.Contains("paused", running.Message);

        built.Machine.Pause();
        var diff = Assert.Throws<SnapshotException>(() => MachineSnapshot.Create(built, SnapshotType.Diff, state, memory));
        Assert.Contains("track_dirty_pages", diff.Message);
        Assert.False(File.Exists(state));
        Stop(built.Machine);
    }

    /// <summary>Each byte of <paramref name="after"/> is one more (mod 256) than the one before, starting from the last of <paramref name="before"/>.</summary>
    private static void AssertCountsOnFrom(string before, string after)
    {
        Assert.NotEmpty(before);
        Assert.NotEmpty(after);
        char previous = before[^1];
        foreach (char next in after)
        {
            Assert.Equal((byte)(previous + 1), (byte)next);
            previous = next;
        }
    }

    private static void WaitForBytes(CapturingSerialOutput console, int count) =>
        Assert.True(SpinWait.SpinUntil(() => console.Text.Length >= count, Generous), $"the guest sent {console.Text.Length} bytes in {Generous.TotalSeconds:0} s");

    private static void Stop(Machine machine)
    {
        machine.RequestStop(MachineStop.HostRequest());
        machine.WaitForStop();
    }

    /// <summary>Counts in memory forever, sending each count's low byte to COM1 after a short delay.</summary>
    private static void CountOnTheConsole(Assembler a)
    {
        var loop = a.CreateLabel();
        var delay = a.CreateLabel();
        a.mov(rsi, CounterAddress);
        a.mov(__qword_ptr[rsi], 0);
        a.mov(dx, (ushort)MachineBuilder.Com1Port);
        a.Label(ref loop);
        a.mov(ecx, 20_000);
        a.Label(ref delay);
        a.dec(ecx);
        a.jnz(delay);
        a.inc(__qword_ptr[rsi]);
        a.mov(rax, __qword_ptr[rsi]);
        a.@out(dx, al);
        a.jmp(loop);
    }
}
