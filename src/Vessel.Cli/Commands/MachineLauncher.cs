using System.CommandLine;
using Vessel.Boot;
using Vessel.Core.Accel;
using Vessel.Cli.Terminal;
using Vessel.Core.Accel.CpuModels;
using Vessel.Core.Logging;
using Vessel.Devices.Serial;
using Vessel.Devices.Storage;
using Vessel.Kvm;
using Vessel.Vmm.Building;
using Vessel.Vmm.Configuration;
using Vessel.X86;

namespace Vessel.Cli.Commands;

/// <summary>What every booting verb does once it has a configuration: pick the accelerator, build, run on this terminal.</summary>
internal static class MachineLauncher
{
    public static AcceleratorKind ParseAccelerator(string accel) => accel switch
    {
        "kvm" => AcceleratorKind.Kvm,
        "software" => AcceleratorKind.Software,
        _ => AcceleratorKind.Auto,
    };

    /// <summary>The <c>--cpu</c> option both booting verbs share: a CPU model in QEMU's <c>-cpu</c> syntax.</summary>
    public static Option<string?> CreateCpuOption() => new("--cpu")
    {
        Description = "CPU model, QEMU -cpu style: MODEL[,+feature|,-feature|,feature=on|off|,vendor=...]..., e.g. qemu64,+x2apic, "
            + "Opteron_G1,vendor=AuthenticAMD, max, host. Models: " + CpuModelCatalog.Names
            + ". Default: everything the accelerator implements (see docs/cpu.md).",
    };

    public static Option<string?> CreateJitOption()
    {
        var jit = new Option<string?>("--jit")
        {
            Description = "The software CPU's compiling tier: on (hot code compiled to host code) or off (the interpreter alone). "
                + "Default: the VESSEL_JIT environment variable, else on (see docs/cpu.md).",
        };
        jit.AcceptOnlyFromAmong("on", "off");
        return jit;
    }

    /// <summary>The accelerator <paramref name="kind"/> resolves to here, of the two this build offers, with AcceleratorSelector's notice.</summary>
    public static (IAccelerator Accelerator, string? Notice) SelectAccelerator(AcceleratorKind kind) =>
        AcceleratorSelector.Select(kind, [new KvmAccelerator(), new SoftwareAccelerator()]);

    /// <summary>The <c>--jit</c> value as the configuration holds it: null when not given.</summary>
    public static bool? ParseJit(string? value) => value is null ? null : value == "on";

    /// <summary>
    /// Boots the configuration <paramref name="configure"/> makes (with the <paramref name="requested"/> accelerator)
    /// with the console on this terminal and returns the exit status; user errors print one line and return 1. When the
    /// guest will run on the software CPU the process first restarts itself with the runtime setting that CPU wants
    /// (<see cref="SoftwareCpuRuntime"/>), before configuring does anything (fetching images, preparing disks).
    /// </summary>
    public static int Run(AcceleratorKind requested, Func<MachineConfig> configure, IMachineLog log)
    {
        try
        {
            if (SoftwareCpuRuntime.WillRunOnSoftwareCpu(requested))
            {
                SoftwareCpuRuntime.RestartWithPromptTiering();
            }

            var config = configure();
            config.Validate();
            var (accelerator, notice) = SelectAccelerator(config.Accelerator);
            if (notice != null)
            {
                Console.Error.WriteLine($"vessel: {notice}");
            }

            using var output = new ConsoleSerialOutput();
            using var built = MachineBuilder.Build(config, accelerator, output, log);
            return ConsoleSession.Run(built, output, log);
        }
        catch (ConfigurationException exception) when (exception.IsInvalidValue)
        {
            Console.Error.WriteLine($"vessel: {exception.Render(CliFlags.For)}");
            return Program.UsageErrorStatus;
        }
        catch (ConfigurationException exception)
        {
            Console.Error.WriteLine($"vessel: {exception.Render(CliFlags.For)}");
            return 1;
        }
        catch (Exception exception) when (exception is BootImageException or KvmException or DiskImageException)
        {
            Console.Error.WriteLine($"vessel: {exception.Message}");
            return 1;
        }
    }
}
