using Vessel.Core.Accel.State;
using Vessel.Core.Snapshots;
using Vessel.X86.Tests.Guests;

namespace Vessel.X86.Tests.Snapshots;

public sealed class SoftwareSnapshotTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public void A_restored_guest_continues_counting_from_the_next_count_and_its_timer_keeps_ticking()
    {
        using var source = SnapshotGuest.Create();
        SnapshotGuest.RunUntilTicks(source, 3);
        ulong savedCount = source.Cpu.Register(13);
        ulong savedTicks = source.Cpu.Register(12);
        var snapshot = SnapshotGuest.Save(source);

        using var target = SnapshotGuest.Create();
        SnapshotGuest.CopyMemory(source.Memory, target.Memory);
        target.Vm.RestoreState(new StateReader(snapshot, "test"));
        Assert.Equal(savedCount, target.Cpu.Register(13));
        Assert.Equal(savedTicks, target.Cpu.Register(12));

        var exit = target.RunFor(Timeout);

        Assert.True(target.Io.ExitValue == SnapshotGuest.Finished, $"exit {exit}, port value {target.Io.ExitValue}");
        Assert.True(target.Cpu.Register(13) > savedCount);
        Assert.Equal((ulong)SnapshotGuest.FinalTicks, target.Cpu.Register(12));
    }

    [Theory]
    [InlineData("accelerator")]
    [InlineData("vcpu")]
    [InlineData("ioapic")]
    [InlineData("pic")]
    [InlineData("pit")]
    public void Saving_restoring_into_a_fresh_vm_and_saving_again_gives_identical_bytes(string section)
    {
        var (first, second) = RoundTrip();

        var before = SnapshotGuest.Sections(first).Where(s => s.Name == section).ToList();
        var after = SnapshotGuest.Sections(second).Where(s => s.Name == section).ToList();
        Assert.NotEmpty(before);
        Assert.Equal(before.Count, after.Count);
        for (int i = 0; i < before.Count; i++)
        {
            Assert.Equal(before[i].Bytes, after[i].Bytes);
        }
    }

    [Fact]
    public void The_local_apic_round_trips_with_its_running_timer()
    {
        var (first, second) = RoundTrip();

        var before = AcceleratorState.Read(new StateReader(first, "first"), 1).Vcpus[0].LocalApic;
        var after = AcceleratorState.Read(new StateReader(second, "second"), 1).Vcpus[0].LocalApic;
        Assert.NotEqual(0u, before.Register(LocalApicState.TimerCurrentCountOffset));
        Assert.Equal(0x20041u, before.Register(0x320));
        Assert.Equal(before.ApicBase, after.ApicBase);
        Assert.Equal(before.RegisterPage, after.RegisterPage);
    }

    [Fact]
    public void A_truncated_state_is_refused_with_a_snapshot_error_and_leaves_the_target_untouched()
    {
        using var source = SnapshotGuest.Create();
        SnapshotGuest.RunUntilTicks(source, 2);
        source.Vm.Clock.Pause();
        var snapshot = SnapshotGuest.Save(source);
        using var target = SnapshotGuest.Create();
        target.Vm.Clock.Pause();
        var pristine = SnapshotGuest.Save(target);

        for (int length = 0; length < snapshot.Length; length += length < 64 ? 1 : 37)
        {
            var reader = new StateReader(snapshot.AsMemory(0, length), "truncated");
            Assert.Throws<SnapshotFormatException>(() => target.Vm.RestoreState(reader));
        }

        Assert.Equal(pristine, SnapshotGuest.Save(target));
    }

    [Fact]
    public void Corrupted_bytes_either_restore_or_raise_a_snapshot_error_and_an_error_leaves_the_target_untouched()
    {
        using var source = SnapshotGuest.Create();
        SnapshotGuest.RunUntilTicks(source, 2);
        source.Vm.Clock.Pause();
        var snapshot = SnapshotGuest.Save(source);
        using var target = SnapshotGuest.Create();
        target.Vm.Clock.Pause();
        int refused = 0;

        for (int offset = 0; offset < snapshot.Length; offset += 3)
        {
            var corrupted = (byte[])snapshot.Clone();
            corrupted[offset] ^= 0xA5;
            var before = SnapshotGuest.Save(target);
            try
            {
                target.Vm.RestoreState(new StateReader(corrupted, "corrupted"));
            }
            catch (SnapshotFormatException)
            {
                refused++;
                Assert.Equal(before, SnapshotGuest.Save(target));
            }
        }

        Assert.True(refused > 0);
    }

    [Fact]
    public void A_state_for_another_vcpu_count_is_refused_naming_both_counts()
    {
        using var source = SnapshotGuest.Create();
        var snapshot = SnapshotGuest.Save(source);
        var state = AcceleratorState.Read(new StateReader(snapshot, "test"), 1);
        var twoVcpus = new AcceleratorState { Kind = state.Kind, Vcpus = [state.Vcpus[0], state.Vcpus[0]], IoApic = state.IoApic, Pic = state.Pic, Pit = state.Pit };
        var writer = new StateWriter();
        twoVcpus.Write(writer);

        var error = Assert.Throws<SnapshotFormatException>(() => source.Vm.RestoreState(new StateReader(writer.ToArray(), "test")));

        Assert.Contains("2 vCPUs", error.Message);
        Assert.Contains("this VM 1", error.Message);
    }

    [Fact]
    public void A_state_with_xsave_features_the_software_cpu_lacks_is_refused_before_anything_changes()
    {
        using var source = SnapshotGuest.Create();
        source.Vm.Clock.Pause();
        var snapshot = SnapshotGuest.Save(source);
        var state = AcceleratorState.Read(new StateReader(snapshot, "test"), 1);
        state.Vcpus[0].Xcr0 = 0x7;
        state.Vcpus[0].GeneralRegisters[0] = 0x1234;
        var writer = new StateWriter();
        state.Write(writer);

        var error = Assert.Throws<SnapshotFormatException>(() => source.Vm.RestoreState(new StateReader(writer.ToArray(), "test")));

        Assert.Contains("XCR0", error.Message);
        Assert.Equal(snapshot, SnapshotGuest.Save(source));
    }

    private static (byte[] First, byte[] Second) RoundTrip()
    {
        using var source = SnapshotGuest.Create();
        SnapshotGuest.RunUntilTicks(source, 2);
        source.Vm.Clock.Pause();
        var first = SnapshotGuest.Save(source);

        using var target = SnapshotGuest.Create();
        target.Vm.Clock.Pause();
        SnapshotGuest.CopyMemory(source.Memory, target.Memory);
        target.Vm.RestoreState(new StateReader(first, "test"));
        return (first, SnapshotGuest.Save(target));
    }
}
