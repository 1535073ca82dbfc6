using Vessel.Core.Accel;
using Vessel.Core.Logging;
using Vessel.Core.Memory;
using Vessel.Vmm.Building;
using Vessel.Vmm.Configuration;

namespace Vessel.Vmm.Tests;

public class AcceleratorSelectorTests
{
    private sealed class FakeAccelerator(string name, bool available, string reason = "", string? limitation = null) : IAccelerator
    {
        public string Name => name;

        public bool RunsGeneralGuests(out string why)
        {
            why = limitation ?? string.Empty;
            return limitation == null;
        }

        public bool IsAvailable(out string why)
        {
            why = reason;
            return available;
        }

        public IAcceleratorVm CreateVm(GuestMemory memory, AcceleratorVmOptions options, IMachineLog log) => throw new NotSupportedException();
    }

    [Fact]
    public void Auto_picks_kvm_when_it_is_usable()
    {
        var (chosen, notice) = AcceleratorSelector.Select(AcceleratorKind.Auto, [new FakeAccelerator("kvm", true), new FakeAccelerator("software", true)]);

        Assert.Equal("kvm", chosen.Name);
        Assert.Contains("KVM", notice);
    }

    [Fact]
    public void Auto_falls_back_to_the_software_cpu_and_says_why()
    {
        var (chosen, notice) = AcceleratorSelector.Select(
            AcceleratorKind.Auto,
            [new FakeAccelerator("kvm", false, "/dev/kvm does not exist."), new FakeAccelerator("software", true)]);

        Assert.Equal("software", chosen.Name);
        Assert.Contains("/dev/kvm does not exist", notice);
    }

    [Fact]
    public void Asking_for_kvm_where_it_is_unusable_fails_with_the_reason()
    {
        var error = Assert.Throws<ConfigurationException>(() => AcceleratorSelector.Select(
            AcceleratorKind.Kvm,
            [new FakeAccelerator("kvm", false, "/dev/kvm does not exist."), new FakeAccelerator("software", true)]));

        Assert.Equal("--accel kvm: /dev/kvm does not exist.", error.Message);
    }

    [Fact]
    public void Auto_passes_over_a_kvm_that_cannot_run_every_guest_and_says_why()
    {
        var (chosen, notice) = AcceleratorSelector.Select(
            AcceleratorKind.Auto,
            [new FakeAccelerator("kvm", true, limitation: "this host's KVM is PVM."), new FakeAccelerator("software", true)]);

        Assert.Equal("software", chosen.Name);
        Assert.Contains("PVM", notice);
    }

    [Fact]
    public void Asking_for_a_limited_kvm_explicitly_still_gets_it()
    {
        var (chosen, _) = AcceleratorSelector.Select(
            AcceleratorKind.Kvm,
            [new FakeAccelerator("kvm", true, limitation: "this host's KVM is PVM."), new FakeAccelerator("software", true)]);

        Assert.Equal("kvm", chosen.Name);
    }
}
