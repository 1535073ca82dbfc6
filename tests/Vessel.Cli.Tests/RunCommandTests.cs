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

            Assert.Equal(1, status);
            Assert.Contains("--memory: 'lots' is not a size", errors);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void An_unknown_accelerator_is_refused_by_the_parser()
    {
        var (status, _) = Invoke("run", "--kernel", "x", "--accel", "hyperv");

        Assert.NotEqual(0, status);
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
