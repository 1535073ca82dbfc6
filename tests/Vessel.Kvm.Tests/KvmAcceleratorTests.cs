using Vessel.Kvm.Interop;

namespace Vessel.Kvm.Tests;

public sealed class KvmAcceleratorTests
{
    [Fact]
    public void Missing_device_is_explained_with_module_and_nested_virtualization_advice()
    {
        var accelerator = new KvmAccelerator(devicePath: "/dev/vessel-test-no-such-kvm");

        Assert.False(accelerator.IsAvailable(out string reason));

        Assert.Contains("/dev/vessel-test-no-such-kvm does not exist", reason);
        Assert.Contains("modprobe kvm_intel", reason);
        Assert.Contains("nested virtualization", reason);
    }

    [Fact]
    public void On_a_host_without_dev_kvm_the_default_accelerator_is_unavailable_with_that_message()
    {
        if (File.Exists("/dev/kvm"))
        {
            return;
        }

        Assert.False(new KvmAccelerator().IsAvailable(out string reason));
        Assert.StartsWith("/dev/kvm does not exist", reason);
    }

    [Fact]
    public void Creating_a_vm_without_kvm_throws_the_same_user_facing_exception()
    {
        var accelerator = new KvmAccelerator(devicePath: "/dev/vessel-test-no-such-kvm");
        using var memory = Vessel.Core.Memory.GuestMemory.Create(1 << 20);

        var exception = Assert.Throws<KvmUnavailableException>(
            () => accelerator.CreateVm(memory, new Vessel.Core.Accel.AcceleratorVmOptions(1), Vessel.Core.Logging.NullMachineLog.Instance));
        Assert.Contains("does not exist", exception.Message);
    }

    [Fact]
    public void Permission_denied_tells_the_user_to_join_the_kvm_group()
    {
        Assert.Contains("add your user to the kvm group", KvmHostMessages.OpenFailed("/dev/kvm", Libc.ErrorAccess));
    }

    [Fact]
    public void Other_host_problems_each_name_their_fix()
    {
        Assert.Contains("Vessel speaks version 12", KvmHostMessages.ApiVersionMismatch(11));
        Assert.Contains("lacks KVM_CAP_IMMEDIATE_EXIT", KvmHostMessages.CapabilityMissing("KVM_CAP_IMMEDIATE_EXIT", "x"));
        Assert.Contains("smaller --memory", KvmHostMessages.MemoryRefused(0x1_0000_0000, 8UL << 30, 12));
        Assert.Contains("ask for fewer vCPUs", KvmHostMessages.TooManyVcpus(300, 288));
    }

    [Fact]
    public void Kick_signal_is_a_real_time_signal_above_the_one_dotnet_owns()
    {
        int signal = VcpuKickSignal.EnsureInstalled();

        Assert.InRange(signal, Libc.CurrentSignalRealTimeMin() + 1, Libc.CurrentSignalRealTimeMax());
        Assert.Equal(signal, VcpuKickSignal.EnsureInstalled());
    }

    [Fact]
    public void Kick_signal_runs_the_native_no_op_handler_and_the_process_survives()
    {
        VcpuKickSignal.UnblockOnCurrentThread();

        VcpuKickSignal.Kick(Libc.GetThreadId());

        Assert.True(true, "The default action of a real-time signal would have terminated the test host.");
    }
}
