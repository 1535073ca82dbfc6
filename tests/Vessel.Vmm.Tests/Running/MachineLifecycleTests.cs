using Vessel.Core.Interrupts;
using Vessel.Core.Logging;
using Vessel.Devices.Serial;
using Vessel.Testing.Images;
using Vessel.Vmm.Building;
using Vessel.Vmm.Configuration;
using Vessel.Vmm.Running;
using Vessel.Vmm.Tests.Fakes;

namespace Vessel.Vmm.Tests.Running;

public sealed class MachineLifecycleTests : IDisposable
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);

    private readonly string kernelPath = Elf64Program.WriteTemporary(a => a.hlt());
    private readonly FakeAccelerator accelerator = new();
    private readonly BuiltMachine built;

    public MachineLifecycleTests()
    {
        var config = new MachineConfig { KernelPath = kernelPath, VcpuCount = 2 };
        built = MachineBuilder.Build(config, accelerator, new DiscardingOutput(), new NullMachineLog());
    }

    private Machine Machine => built.Machine;

    private IReadOnlyList<FakeVcpu> Vcpus => accelerator.Vm!.Vcpus;

    public void Dispose()
    {
        if (Machine.State != MachineState.Stopped)
        {
            Machine.RequestStop(MachineStop.HostRequest());
            Machine.WaitForStop();
        }

        built.Dispose();
        File.Delete(kernelPath);
    }

    [Fact]
    public void A_built_machine_is_created_and_starting_runs_every_vcpu()
    {
        Assert.Equal(MachineState.Created, Machine.State);

        Machine.Start();

        Assert.Equal(MachineState.Running, Machine.State);
        Assert.True(SpinWait.SpinUntil(() => Vcpus.All(v => v.InsideRun), Generous));
        Assert.Same(Machine.Clock, accelerator.Vm!.Clock);
    }

    [Fact]
    public void Pause_parks_every_vcpu_outside_run_and_stops_the_clock()
    {
        Machine.Start();
        Assert.True(SpinWait.SpinUntil(() => Vcpus.All(v => v.InsideRun), Generous));

        Machine.Pause();

        Assert.Equal(MachineState.Paused, Machine.State);
        Assert.All(Vcpus, v => Assert.False(v.InsideRun));
        Assert.True(Machine.Clock.IsPaused);
        int[] entries = Vcpus.Select(v => v.Entries).ToArray();

        // A stray exit request while paused must not send a parked vCPU back into Run().
        Vcpus[0].RequestExit();
        Assert.False(SpinWait.SpinUntil(() => Vcpus[0].InsideRun, TimeSpan.FromMilliseconds(200)));
        Assert.Equal(entries, Vcpus.Select(v => v.Entries).ToArray());
    }

    [Fact]
    public void Resume_restarts_the_clock_and_sends_the_vcpus_back_into_run()
    {
        Machine.Start();
        Assert.True(SpinWait.SpinUntil(() => Vcpus.All(v => v.InsideRun), Generous));
        Machine.Pause();
        int[] entries = Vcpus.Select(v => v.Entries).ToArray();

        Machine.Resume();

        Assert.Equal(MachineState.Running, Machine.State);
        Assert.False(Machine.Clock.IsPaused);
        Assert.True(SpinWait.SpinUntil(() => Vcpus.All(v => v.InsideRun), Generous));
        Assert.All(Vcpus.Zip(entries), pair => Assert.True(pair.First.Entries > pair.Second));
    }

    [Fact]
    public void A_paused_machine_stops_when_asked_and_reports_why()
    {
        Machine.Start();
        Machine.Pause();

        Machine.RequestStop(MachineStop.PowerOff());
        var stop = Machine.WaitForStop();

        Assert.Equal(MachineStopReason.PowerOff, stop.Reason);
        Assert.Equal(MachineState.Stopped, Machine.State);
    }

    [Fact]
    public void Transitions_the_state_does_not_allow_are_refused_with_the_state_named()
    {
        Assert.Contains("Created", Assert.Throws<MachineStateException>(Machine.Pause).Message);
        Assert.Throws<MachineStateException>(Machine.Resume);

        Machine.Start();
        Assert.Throws<MachineStateException>(Machine.Start);
        Machine.Resume();
        Assert.Equal(MachineState.Running, Machine.State);

        Machine.RequestStop(MachineStop.HostRequest());
        Machine.WaitForStop();
        Assert.Contains("Stopped", Assert.Throws<MachineStateException>(Machine.Pause).Message);
        Assert.Throws<MachineStateException>(Machine.Resume);
        Assert.Throws<MachineStateException>(Machine.Start);
    }

    [Fact]
    public void A_vsock_device_is_attached_on_pci_and_listens_on_its_socket_until_the_machine_is_disposed()
    {
        var folder = Directory.CreateTempSubdirectory("vsock-build-");
        string socketPath = Path.Combine(folder.FullName, "v.sock");
        var withVsock = new MachineConfig { KernelPath = kernelPath, Vsock = new VsockConfig { GuestCid = 3, UdsPath = socketPath } };

        using (var vsockMachine = MachineBuilder.Build(withVsock, new FakeAccelerator(), new DiscardingOutput(), new NullMachineLog()))
        {
            Assert.Contains(vsockMachine.Devices!.Devices, device => device.Name.StartsWith("virtio-vsock (cid 3", StringComparison.Ordinal));
            Assert.True(File.Exists(socketPath));
            var again = Assert.Throws<ConfigurationException>(() => MachineBuilder.Build(withVsock, new FakeAccelerator(), new DiscardingOutput(), new NullMachineLog()));
            Assert.Equal(ConfigField.VsockUdsPath, again.Field);
            Assert.Contains("already exists", again.Detail);
        }

        Assert.False(File.Exists(socketPath));
        folder.Delete(recursive: true);
    }

    [Fact]
    public void Vhost_on_is_refused_with_one_sentence_naming_the_accelerator_that_cannot_use_it()
    {
        var withVhost = new MachineConfig { KernelPath = kernelPath, NetworkInterfaces = [NetworkInterfaceConfig.Parse("tap=vtap0,vhost=on", 0)] };

        var error = Assert.Throws<ConfigurationException>(() => MachineBuilder.Build(withVhost, new FakeAccelerator(), new DiscardingOutput(), new NullMachineLog()));

        Assert.Equal("--net 'net0': vhost=on needs the KVM accelerator (the kernel moves the frames between KVM's ioeventfd/irqfd and the TAP device), so --accel fake cannot use it; remove vhost=on or use --accel kvm.", error.Message);
    }

    [Fact]
    public void Vhost_on_with_dirty_page_tracking_is_refused_because_the_kernels_writes_are_not_tracked()
    {
        var withVhost = new MachineConfig
        {
            KernelPath = kernelPath,
            TrackDirtyPages = true,
            NetworkInterfaces = [NetworkInterfaceConfig.Parse("tap=vtap0,vhost=on", 0)],
        };

        var error = Assert.Throws<ConfigurationException>(() => MachineBuilder.Build(withVhost, new FakeAccelerator(), new DiscardingOutput(), new NullMachineLog()));

        Assert.Contains("vhost=on, whose kernel writes into guest memory are not tracked", error.Message);
    }

    private sealed class DiscardingOutput : ISerialOutput
    {
        public void Write(ReadOnlySpan<byte> data)
        {
        }

        public void Flush()
        {
        }
    }
}
