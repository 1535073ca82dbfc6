using Vessel.Testing.Images;
using static Iced.Intel.AssemblerRegisters;

namespace Vessel.Cli.Tests;

/// <summary>The CLI end to end, in process: arguments in, exit status and stderr out.</summary>
[Collection("Console")]
public class RunCommandTests
{
    private static (int Status, string Errors) Invoke(params string[] args)
    {
        var errors = new StringWriter();
        var previous = Console.Error;
        Console.SetError(errors);
        try
        {
            int status = Program.Main(args);
            return (status, errors.ToString());
        }
        finally
        {
            Console.SetError(previous);
        }
    }

    [Fact]
    public void A_missing_kernel_file_fails_with_status_1_and_says_which_file()
    {
        var (status, errors) = Invoke("run", "--kernel", "/nonexistent/bzImage");

        Assert.Equal(1, status);
        Assert.Contains("'/nonexistent/bzImage' does not exist", errors);
        Assert.DoesNotContain("   at ", errors);
    }

    [Fact]
    public void A_file_that_is_not_a_kernel_is_rejected_with_what_it_looks_like()
    {
        string path = Path.GetTempFileName();
        File.WriteAllText(path, "#!/bin/sh\necho not a kernel\n");
        try
        {
            var (status, errors) = Invoke("run", "--kernel", path, "--accel", "software");

            Assert.Equal(1, status);
            Assert.Contains("Not a kernel Vessel can boot", errors);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_bad_memory_size_names_the_flag()
    {
        string path = Path.GetTempFileName();
        try
        {
            var (status, errors) = Invoke("run", "--kernel", path, "--memory", "lots");

            Assert.Equal(Program.UsageErrorStatus, status);
            Assert.Contains("--memory: 'lots' is not a size", errors);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("--cpus", "0", "--cpus: 0 is out of range. Give 1 to 64.")]
    [InlineData("--cpus", "65", "--cpus: 65 is out of range. Give 1 to 64.")]
    [InlineData("--memory", "12Q", "--memory: '12Q' is not a size.")]
    [InlineData("--memory", "1K", "--memory: 1024 bytes is out of range.")]
    public void Every_rejected_value_exits_with_the_usage_status_and_one_line(string option, string value, string expected)
    {
        string path = Elf64Program.WriteTemporary(a => a.hlt());
        try
        {
            var (status, errors) = Invoke("run", "--kernel", path, "--accel", "software", option, value);

            Assert.Equal(Program.UsageErrorStatus, status);
            Assert.Contains(expected, errors, StringComparison.Ordinal);
            Assert.Single(errors.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("--kernel", "/dev/zero")]
    [InlineData("--kernel", "/dev/urandom")]
    [InlineData("--initrd", "/dev/zero")]
    public void An_endless_device_as_kernel_or_initrd_fails_at_once_with_status_1_and_one_sentence(string option, string device)
    {
        string kernel = Elf64Program.WriteTemporary(a => a.hlt());
        try
        {
            string[] args = option == "--kernel"
                ? ["run", "--kernel", device, "--accel", "software"]
                : ["run", "--kernel", kernel, "--initrd", device, "--accel", "software"];
            var (status, errors) = Invoke(args);

            Assert.Equal(1, status);
            Assert.Equal($"vessel: {option}: '{device}' is a character device, not a regular file.", errors.Split(" Give ")[0]);
            Assert.DoesNotContain("   at ", errors);
        }
        finally
        {
            File.Delete(kernel);
        }
    }

    [Fact]
    public void A_kernel_larger_than_guest_memory_is_refused_before_it_is_read()
    {
        string path = Path.GetTempFileName();
        using (var file = File.OpenWrite(path))
        {
            file.SetLength(5L << 20);
        }

        try
        {
            var (status, errors) = Invoke("run", "--kernel", path, "--accel", "software", "--memory", "4M");

            Assert.Equal(1, status);
            Assert.Contains($"--kernel: '{path}' is 5 MiB, more than the guest's 4 MiB of memory can hold", errors, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Run_without_a_kernel_an_api_socket_or_a_config_file_is_a_usage_error_naming_all_three()
    {
        var (status, errors) = Invoke("run");

        Assert.Equal(Program.UsageErrorStatus, status);
        Assert.Contains("--kernel: required (unless --api-sock or --config-file is given)", errors, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--kernel", "/boot/vmlinuz")]
    [InlineData("--memory", "256M")]
    [InlineData("--cpus", "2")]
    public void Machine_flags_beside_an_api_socket_are_a_usage_error_pointing_at_the_api(string flag, string value)
    {
        var (status, errors) = Invoke("run", "--api-sock", "/tmp/never-created.sock", flag, value);

        Assert.Equal(Program.UsageErrorStatus, status);
        Assert.Contains($"vessel: {flag}: not used with --api-sock or --config-file", errors, StringComparison.Ordinal);
    }

    [Fact]
    public void An_api_socket_in_a_missing_directory_fails_with_status_1_saying_so()
    {
        var (status, errors) = Invoke("run", "--api-sock", "/nonexistent-dir/api.sock");

        Assert.Equal(1, status);
        Assert.Contains("--api-sock: the directory of '/nonexistent-dir/api.sock' does not exist", errors, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_accelerator_is_refused_by_the_parser_with_the_usage_status()
    {
        var (status, _) = Invoke("run", "--kernel", "x", "--accel", "hyperv");

        Assert.Equal(Program.UsageErrorStatus, status);
    }

    [Fact]
    public void An_unknown_option_exits_with_status_2_and_names_it()
    {
        var (status, errors) = Invoke("run", "--kernel", "x", "--frobnicate");

        Assert.Equal(2, status);
        Assert.Contains("--frobnicate", errors, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("pentium9", "vessel: --cpu: unknown CPU model 'pentium9'. Models: qemu64, max, host, base,")]
    [InlineData("qemu64,+x3apic", "vessel: --cpu: unknown CPU feature or property '+x3apic'.")]
    [InlineData("qemu64,vendor=Intel", "vessel: --cpu: 'vendor=Intel': a vendor is 12 letters or digits")]
    public void A_bad_cpu_model_is_refused_with_the_usage_status_naming_the_bad_item(string cpu, string expected)
    {
        string path = Elf64Program.WriteTemporary(a => a.hlt());
        try
        {
            var (status, errors) = Invoke("run", "--kernel", path, "--accel", "software", "--cpu", cpu);

            Assert.Equal(Program.UsageErrorStatus, status);
            Assert.Contains(expected, errors, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("Opteron_G1,vendor=AuthenticAMD", 'A')]
    [InlineData("qemu64,vendor=GenuineIntel", 'G')]
    [InlineData("max", 'G')]
    public void The_cpu_vendor_reaches_the_guests_cpuid(string cpu, char firstVendorLetter)
    {
        // CPUID leaf 0: EBX holds the vendor's first four letters; the guest exits with the first.
        string path = Elf64Program.WriteTemporary(a =>
        {
            a.xor(eax, eax);
            a.cpuid();
            a.mov(eax, ebx);
            a.and(eax, 0x7F);
            a.@out(0xF4, eax);
            a.hlt();
        });
        try
        {
            var (status, errors) = Invoke("run", "--kernel", path, "--accel", "software", "--cpu", cpu);

            Assert.Equal((firstVendorLetter << 1) | 1, status);
            Assert.DoesNotContain("warning", errors, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_requested_feature_the_software_cpu_lacks_is_one_warning_and_the_guest_still_runs()
    {
        string path = Elf64Program.WriteTemporary(a =>
        {
            a.mov(eax, 3);
            a.@out(0xF4, eax);
            a.hlt();
        });
        try
        {
            var (status, errors) = Invoke("run", "--kernel", path, "--accel", "software", "--cpu", "max,+vmx");

            Assert.Equal((3 << 1) | 1, status);
            Assert.Single(errors.Split('\n'), line => line.StartsWith("vessel: warning: software CPU doesn't support requested feature: CPUID.01H:ECX.vmx [bit 5]", StringComparison.Ordinal));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void The_software_accelerator_runs_a_guest_and_returns_its_debug_exit_status()
    {
        string path = Elf64Program.WriteTemporary(a =>
        {
            a.mov(eax, 3);
            a.@out(0xF4, eax);
            a.hlt();
        });
        try
        {
            var (status, _) = Invoke("run", "--kernel", path, "--accel", "software");

            Assert.Equal((3 << 1) | 1, status);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Auto_says_which_accelerator_it_picked()
    {
        string path = Elf64Program.WriteTemporary(a =>
        {
            a.mov(eax, 0);
            a.@out(0xF4, eax);
            a.hlt();
        });
        try
        {
            var (status, errors) = Invoke("run", "--kernel", path);

            Assert.Equal(1, status);
            Assert.Matches("using (KVM hardware virtualization|the software CPU: KVM is not usable)", errors);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
