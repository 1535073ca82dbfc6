using Iced.Intel;
using Vessel.Core.Accel;
using Vessel.Core.Accel.State;
using Vessel.Core.Memory;
using Vessel.Core.Snapshots;
using Vessel.Kvm.Tests.Infrastructure;
using Vessel.X86;
using static Iced.Intel.AssemblerRegisters;

namespace Vessel.Kvm.Tests.Snapshots;

/// <summary>
/// Snapshots of a bare-metal guest on KVM and across accelerators: save with the vCPU parked, build a brand-new VM over
/// a copy of guest RAM, restore, run. PVM hosts run these guests, so these run there too.
/// </summary>
public sealed class KvmSnapshotTests
{
    [RequiresKvmFact]
    public void Kvm_to_kvm_the_restored_guest_continues_from_the_next_count_and_its_timer_keeps_ticking() =>
        AssertContinues(new KvmAccelerator(), new KvmAccelerator());

    [RequiresKvmFact]
    public void Kvm_to_software_the_restored_guest_continues_from_the_next_count() =>
        AssertContinues(new KvmAccelerator(), new SoftwareAccelerator());

    [RequiresKvmFact]
    public void Software_to_kvm_the_restored_guest_continues_from_the_next_count() =>
        AssertContinues(new SoftwareAccelerator(), new KvmAccelerator());

    [Fact]
    public void Software_to_software_through_the_generic_harness_continues_from_the_next_count() =>
        AssertContinues(new SoftwareAccelerator(), new SoftwareAccelerator());

    [RequiresKvmFact]
    public void Kvm_state_saved_restored_into_a_fresh_vm_and_saved_again_is_the_same_apart_from_running_clocks()
    {
        using var source = new SnapshotMachine(new KvmAccelerator());
        source.RunUntilTicks(3);
        var first = AcceleratorState.Read(new StateReader(source.Save(), "first"), 1);

        using var target = new SnapshotMachine(new KvmAccelerator(), source.CopyMemory());
        target.Vm.RestoreState(new StateReader(Write(first), "first"));
        var second = AcceleratorState.Read(new StateReader(target.Save(), "second"), 1);

        // KVM's TSC, kvmclock, LAPIC timer and PIT run on the host's clock, not a paused one: compare everything else.
        var a = Sections(Write(WithoutRunningClocks(first)));
        var b = Sections(Write(WithoutRunningClocks(second)));
        Assert.Equal(a.Select(s => s.Name), b.Select(s => s.Name));
        for (int i = 0; i < a.Count; i++)
        {
            Assert.True(a[i].Bytes.AsSpan().SequenceEqual(b[i].Bytes), $"section {a[i].Name} differs after the round trip");
        }

        Assert.InRange(second.Vcpus[0].TimeStampCounter - first.Vcpus[0].TimeStampCounter, 0UL, 10_000_000_000UL);
    }

    [RequiresKvmFact]
    public void A_truncated_state_is_refused_on_kvm_before_the_vm_changes()
    {
        using var source = new SnapshotMachine(new KvmAccelerator());
        source.RunUntilTicks(2);
        var snapshot = source.Save();
        using var target = new SnapshotMachine(new KvmAccelerator());
        var before = Write(WithoutRunningClocks(AcceleratorState.Read(new StateReader(target.Save(), "before"), 1)));

        for (int length = 0; length < snapshot.Length; length += 97)
        {
            var reader = new StateReader(snapshot.AsMemory(0, length), "truncated");
            Assert.Throws<SnapshotFormatException>(() => target.Vm.RestoreState(reader));
        }

        var after = Write(WithoutRunningClocks(AcceleratorState.Read(new StateReader(target.Save(), "after"), 1)));
        Assert.Equal(before, after);
    }

    [RequiresKvmFact]
    public void A_snapshot_taken_as_a_port_read_exits_holds_the_read_value_and_the_restored_guest_does_not_read_again()
    {
        static Label? ReadThenReport(Assembler a)
        {
            a.@in(al, 0x71);
            a.mov(__byte_ptr[SnapshotMachine.CountAddress], al);
            a.@out(SnapshotMachine.ExitPort, al);
            a.hlt();
            return null;
        }

        using var source = new SnapshotMachine(new KvmAccelerator(), program: ReadThenReport);
        source.Io.ReadValue = 0x5A;
        source.Io.OnPortRead = _ => source.Vcpu.RequestExit();
        source.Start();
        source.Join();
        var snapshot = source.Save();

        using var target = new SnapshotMachine(new KvmAccelerator(), source.CopyMemory(), ReadThenReport);
        target.Vm.RestoreState(new StateReader(snapshot, "saved"));
        target.Io.ReadValue = 0x33;
        target.Start();
        target.Join();

        Assert.DoesNotContain(target.Io.Accesses, access => access.Kind == "in");
        Assert.Equal([0x5A], target.ExitCodes);
    }

    [RequiresKvmFact]
    public void Kvm_dirty_log_marks_exactly_the_page_a_guest_store_wrote()
    {
        using var machine = new SnapshotMachine(new KvmAccelerator(), program: a =>
        {
            a.mov(rsi, SnapshotMachine.StoredPage);
            a.mov(__qword_ptr[rsi + 8], 1);
            a.mov(al, 1);
            a.@out(SnapshotMachine.ExitPort, al);
            a.hlt();
            return null;
        });
        machine.Vm.StartDirtyLog();
        machine.Vm.CollectDirtyPages();
        machine.Memory.TakeDirtyPages();

        machine.Start();
        machine.Join();
        machine.Vm.CollectDirtyPages();

        Assert.Equal([1], machine.ExitCodes);
        Assert.Equal([SnapshotMachine.StoredPage >> 12], DirtyPages(machine.Memory));
    }

    private static void AssertContinues(IAccelerator from, IAccelerator to)
    {
        using var source = new SnapshotMachine(from);
        source.RunUntilTicks(3);
        ulong savedCount = source.Count;
        ulong savedTicks = source.Ticks;
        var snapshot = source.Save();
        var saved = AcceleratorState.Read(new StateReader(snapshot, "saved"), 1);
        ulong register = saved.Vcpus[0].GeneralRegisters[13];

        // Stopped between the increment and the store, memory is one behind.
        Assert.InRange(savedCount, register - 1, register);

        using var target = new SnapshotMachine(to, source.CopyMemory());
        target.Vm.RestoreState(new StateReader(snapshot, "saved"));
        target.Start();
        var exit = target.Join();

        Assert.True(target.ExitCodes.SequenceEqual([SnapshotMachine.Finished]), $"exit codes [{string.Join(", ", target.ExitCodes)}], vCPU {exit.Reason} {exit.Detail}; saved RIP {saved.Vcpus[0].Rip:x} R13 {register} memory {savedCount} events {saved.Vcpus[0].Events} mp {saved.Vcpus[0].MpState}");
        Assert.True(target.Count > savedCount, $"count {target.Count} after restore, {savedCount} at the save");
        Assert.True(target.Ticks > savedTicks);
        Assert.Equal((ulong)SnapshotMachine.FinalTicks, target.Ticks);
    }

    private static AcceleratorState WithoutRunningClocks(AcceleratorState state)
    {
        foreach (var vcpu in state.Vcpus)
        {
            vcpu.TimeStampCounter = 0;
            vcpu.LocalApic.SetRegister(LocalApicState.TimerCurrentCountOffset, 0);
        }

        for (int i = 0; i < state.Pit.Channels.Length; i++)
        {
            state.Pit.Channels[i] = state.Pit.Channels[i] with { NanosecondsSinceLoad = 0 };
        }

        return new AcceleratorState { Kind = state.Kind, Vcpus = state.Vcpus, IoApic = state.IoApic, Pic = state.Pic, Pit = state.Pit };
    }

    private static byte[] Write(AcceleratorState state)
    {
        var writer = new StateWriter();
        state.Write(writer);
        return writer.ToArray();
    }

    private static List<(string Name, byte[] Bytes)> Sections(byte[] data)
    {
        var reader = new StateReader(data, "test");
        var sections = new List<(string, byte[])>();
        while (!reader.AtEnd)
        {
            int start = reader.Position;
            string name = reader.ReadString();
            reader.ReadInt32();
            int length = reader.ReadInt32();
            reader.ReadRaw(length);
            sections.Add((name, data[start..reader.Position]));
        }

        return sections;
    }

    private static List<ulong> DirtyPages(GuestMemory memory)
    {
        var pages = new List<ulong>();
        var words = memory.TakeDirtyPages();
        for (int word = 0; word < words.Length; word++)
        {
            for (int bit = 0; bit < 64; bit++)
            {
                if ((words[word] & (1UL << bit)) != 0)
                {
                    pages.Add(((ulong)word * 64) + (ulong)bit);
                }
            }
        }

        return pages;
    }
}
