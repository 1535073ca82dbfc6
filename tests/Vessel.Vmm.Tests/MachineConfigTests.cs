using Vessel.Vmm.Configuration;

namespace Vessel.Vmm.Tests;

public sealed class MachineConfigTests : IDisposable
{
    private readonly string kernelPath = Path.GetTempFileName();

    public void Dispose() => File.Delete(kernelPath);

    [Fact]
    public void A_missing_kernel_file_is_reported_with_its_path()
    {
        var config = new MachineConfig { KernelPath = "/nonexistent/vmlinux" };

        var error = Assert.Throws<ConfigurationException>(config.Validate);

        Assert.Equal(ConfigField.KernelPath, error.Field);
        Assert.Contains("/nonexistent/vmlinux", error.Message);
        Assert.Contains("does not exist", error.Message);
    }

    [Fact]
    public void A_directory_given_as_kernel_is_rejected()
    {
        var config = new MachineConfig { KernelPath = Path.GetTempPath() };

        var error = Assert.Throws<ConfigurationException>(config.Validate);

        Assert.Contains("is a directory", error.Message);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(65)]
    public void Vcpu_counts_outside_1_to_64_are_rejected(int cpus)
    {
        var config = new MachineConfig { KernelPath = kernelPath, VcpuCount = cpus };

        var error = Assert.Throws<ConfigurationException>(config.Validate);

        Assert.Equal(ConfigField.VcpuCount, error.Field);
    }

    [Fact]
    public void Memory_below_the_minimum_is_rejected()
    {
        var config = new MachineConfig { KernelPath = kernelPath, MemoryBytes = 1UL << 20 };

        var error = Assert.Throws<ConfigurationException>(config.Validate);

        Assert.Equal(ConfigField.Memory, error.Field);
    }

    [Fact]
    public void The_defaults_follow_firecracker_and_are_valid()
    {
        var config = new MachineConfig { KernelPath = kernelPath };

        config.Validate();

        Assert.Equal(1, config.VcpuCount);
        Assert.Equal(128UL << 20, config.MemoryBytes);
        Assert.Equal(AcceleratorKind.Auto, config.Accelerator);
    }

    [Fact]
    public void A_bad_cpu_model_is_a_configuration_error_naming_the_option()
    {
        var config = new MachineConfig { KernelPath = kernelPath, Cpu = "qemu64,+warp-drive" };

        var error = Assert.Throws<ConfigurationException>(config.Validate);

        Assert.Equal(ConfigField.Cpu, error.Field);
        Assert.StartsWith("unknown CPU feature or property '+warp-drive'.", error.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void No_cpu_model_parses_to_null_and_a_good_one_to_its_spec()
    {
        Assert.Null(new MachineConfig { KernelPath = kernelPath }.ParseCpu());
        Assert.Equal("Opteron_G1", new MachineConfig { KernelPath = kernelPath, Cpu = "Opteron_G1,vendor=AuthenticAMD" }.ParseCpu()?.Model.Name);
    }
}
