using System.Diagnostics;
using Vessel.Core.Logging;
using Vessel.Kvm;
using Vessel.Testing.Images;
using Vessel.Vmm.Building;
using Vessel.Vmm.Configuration;

namespace Vessel.Cli.Tests;

/// <summary>A fact for a host whose /dev/kvm is PVM (kvm_pvm loaded); skipped elsewhere, saying why.</summary>
public sealed class RequiresPvmHostFactAttribute : FactAttribute
{
    public RequiresPvmHostFactAttribute()
    {
        if (!KvmAccelerator.HostIsPagetableVirtualMachine)
        {
            Skip = "Needs a PVM host (the kvm_pvm module loaded); this host's KVM is not PVM, and the fake-probe tests cover the refusal.";
        }
        else if (!new KvmAccelerator().IsAvailable(out string reason))
        {
            Skip = "Needs a usable PVM /dev/kvm: " + reason;
        }
    }
}

[Collection("Console")]
public class PvmRefusalTests
{
    private const string Refusal =
        "--accel kvm: this host's KVM is PVM (the kvm_pvm module), which cannot boot a Linux kernel that is not built as a PVM guest; "
        + "use --accel software, or a host with hardware virtualization (VT-x/AMD-V).";

    /// <summary>An ELF64 linked where stock Linux links vmlinux (0xffffffff81000000, loaded at 16 MiB) that exits with status 85.</summary>
    private static string WriteStockLinuxLookalike()
    {
        const ulong physical = 0x100_0000;
        var builder = new ElfBuilder { Is64 = true, Entry = physical };
        byte[] code = [0xB0, 0x2A, 0xE6, 0xF4, 0xF4]; // mov al, 0x2a; out 0xf4, al; hlt
        builder.Segments.Add(new ElfSegment(physical, code, 0x1000, VirtualAddress: 0xFFFF_FFFF_8100_0000));
        string path = Path.Combine(Path.GetTempPath(), $"vessel-vmlinux-{Guid.NewGuid():N}");
        File.WriteAllBytes(path, builder.Build());
        return path;
    }

    private static MachineConfig Config(string kernel) => new()
    {
        KernelPath = kernel,
        MemoryBytes = 64UL << 20,
        Accelerator = AcceleratorKind.Kvm,
    };

    [Fact]
    public void A_stock_linux_kernel_on_a_pvm_kvm_is_refused_before_anything_runs_with_one_sentence()
    {
        string kernel = WriteStockLinuxLookalike();
        try
        {
            var pvm = new KvmAccelerator(devicePath: "/dev/vessel-test-no-such-kvm", isPagetableVirtualMachine: () => true);
            using var output = new Vessel.Devices.Serial.ConsoleSerialOutput(Stream.Null);

            var error = Assert.Throws<ConfigurationException>(() => MachineBuilder.Build(Config(kernel), pvm, output, NullMachineLog.Instance));

            Assert.Equal(Refusal, error.Message);
        }
        finally
        {
            File.Delete(kernel);
        }
    }

    [Fact]
    public void A_bare_metal_program_is_not_refused_on_a_pvm_kvm()
    {
        // Past the check, the build reaches /dev/kvm, which this fake path lacks: the error proves no refusal came first.
        string kernel = Elf64Program.WriteTemporary(a => a.hlt());
        try
        {
            var pvm = new KvmAccelerator(devicePath: "/dev/vessel-test-no-such-kvm", isPagetableVirtualMachine: () => true);
            using var output = new Vessel.Devices.Serial.ConsoleSerialOutput(Stream.Null);

            var error = Assert.Throws<KvmUnavailableException>(() => MachineBuilder.Build(Config(kernel), pvm, output, NullMachineLog.Instance));

            Assert.Contains("does not exist", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(kernel);
        }
    }

    [Fact]
    public void The_same_kernel_boots_on_the_software_cpu()
    {
        string kernel = WriteStockLinuxLookalike();
        try
        {
            var errors = new StringWriter();
            var previous = Console.Error;
            Console.SetError(errors);
            int status;
            try
            {
                status = Program.Main(["run", "--kernel", kernel, "--accel", "software"]);
            }
            finally
            {
                Console.SetError(previous);
            }

            Assert.Equal((0x2A << 1) | 1, status);
        }
        finally
        {
            File.Delete(kernel);
        }
    }

    [RequiresPvmHostFact]
    public void On_this_pvm_host_accel_kvm_with_a_stock_linux_kernel_exits_1_at_once_with_the_sentence()
    {
        string kernel = WriteStockLinuxLookalike();
        var errors = new StringWriter();
        var previous = Console.Error;
        Console.SetError(errors);
        try
        {
            var stopwatch = Stopwatch.StartNew();
            int status = Program.Main(["run", "--kernel", kernel, "--accel", "kvm"]);

            Assert.Equal(1, status);
            Assert.Equal($"vessel: {Refusal}", errors.ToString().Trim());

            // Before the fix this burned about 80 s of CPU; the refusal comes before a VM exists. 30 s is slack for load.
            Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(30), $"took {stopwatch.Elapsed.TotalSeconds:0.0} s");
        }
        finally
        {
            Console.SetError(previous);
            File.Delete(kernel);
        }
    }
}
