using Vessel.Core.Accel;
using Vessel.Core.Accel.State;
using Vessel.Core.Logging;
using Vessel.Core.Memory;
using Vessel.Core.Snapshots;
using Vessel.Kvm.Tests.Infrastructure;
using Vessel.X86;

namespace Vessel.Kvm.Tests.Snapshots;

/// <summary>Two vCPUs, the second an application processor still waiting for its STARTUP IPI, as a booting guest leaves it.</summary>
public sealed class MultiprocessorSnapshotTests
{
    [Fact]
    public void Software_an_application_processor_waiting_for_sipi_is_restored_waiting() =>
        AssertApWaits(new SoftwareAccelerator(), new SoftwareAccelerator());

    [RequiresKvmFact]
    public void Kvm_an_application_processor_waiting_for_sipi_is_restored_waiting() =>
        AssertApWaits(new KvmAccelerator(), new KvmAccelerator());

    [RequiresKvmFact]
    public void Kvm_to_software_an_application_processor_waiting_for_sipi_is_restored_waiting() =>
        AssertApWaits(new KvmAccelerator(), new SoftwareAccelerator());

    [RequiresKvmFact]
    public void Software_to_kvm_an_application_processor_waiting_for_sipi_is_restored_waiting() =>
        AssertApWaits(new SoftwareAccelerator(), new KvmAccelerator());

    private static void AssertApWaits(IAccelerator from, IAccelerator to)
    {
        byte[] saved;
        using (var source = new TwoVcpus(from))
        {
            var state = source.Vm.CaptureState();
            Assert.Equal(VcpuMpState.Runnable, state.Vcpus[0].MpState);
            Assert.Equal(VcpuMpState.WaitingForStartup, state.Vcpus[1].MpState);
            Assert.Equal(0x1234UL, state.Vcpus[0].GeneralRegisters[0]);
            saved = Write(state);
        }

        using var target = new TwoVcpus(to, bootApToo: true);
        target.Vm.RestoreState(new StateReader(saved, "saved"));
        var restored = target.Vm.CaptureState();

        Assert.Equal(VcpuMpState.Runnable, restored.Vcpus[0].MpState);
        Assert.Equal(VcpuMpState.WaitingForStartup, restored.Vcpus[1].MpState);
        Assert.Equal(0x1234UL, restored.Vcpus[0].GeneralRegisters[0]);
        Assert.Equal(0x10_0000UL, restored.Vcpus[0].Rip);
        Assert.Equal(0u, restored.Vcpus[0].LocalApic.Register(0x20) >> 24);
        Assert.Equal(1u, restored.Vcpus[1].LocalApic.Register(0x20) >> 24);
        Assert.NotEqual(0UL, restored.Vcpus[0].LocalApic.ApicBase & (1UL << 8));
        Assert.Equal(0UL, restored.Vcpus[1].LocalApic.ApicBase & (1UL << 8));
    }

    private static byte[] Write(AcceleratorState state)
    {
        var writer = new StateWriter();
        state.Write(writer);
        return writer.ToArray();
    }

    /// <summary>A VM with two vCPUs; both accelerators' VMs expose CaptureState through this adapter.</summary>
    private sealed class TwoVcpus : IDisposable
    {
        private readonly GuestMemory memory = GuestMemory.Create(16UL << 20);
        private readonly IVcpu[] vcpus;

        public TwoVcpus(IAccelerator accelerator, bool bootApToo = false)
        {
            var vm = accelerator.CreateVm(memory, new AcceleratorVmOptions(2), NullMachineLog.Instance);
            Vm = new Adapter(vm);
            vcpus = [vm.CreateVcpu(0, new RecordingVcpuIo()), vm.CreateVcpu(1, new RecordingVcpuIo())];
            var bsp = VcpuBootState.PowerOnReset();
            bsp.Rax = 0x1234;
            bsp.Rip = 0x10_0000;
            vcpus[0].SetBootState(bsp);
            var ap = VcpuBootState.PowerOnReset();
            ap.WaitForStartup = !bootApToo;
            vcpus[1].SetBootState(ap);
        }

        public Adapter Vm { get; }

        public void Dispose()
        {
            foreach (var vcpu in vcpus)
            {
                vcpu.Dispose();
            }

            Vm.Inner.Dispose();
            memory.Dispose();
        }
    }

    private sealed class Adapter(IAcceleratorVm inner)
    {
        public IAcceleratorVm Inner { get; } = inner;

        public AcceleratorState CaptureState() => Inner switch
        {
            SoftwareVm software => software.CaptureState(),
            KvmVm kvm => kvm.CaptureState(),
            _ => throw new InvalidOperationException(Inner.GetType().Name),
        };

        public void RestoreState(StateReader reader) => Inner.RestoreState(reader);
    }
}
