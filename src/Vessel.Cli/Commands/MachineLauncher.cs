using Vessel.Boot;
using Vessel.Cli.Terminal;
using Vessel.Core.Logging;
using Vessel.Devices.Serial;
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

    /// <summary>Boots <paramref name="config"/> with the console on this terminal and returns the exit status; user errors print one line and return 1.</summary>
    public static int Run(Func<MachineConfig> configure, IMachineLog log)
    {
        try
        {
            var config = configure();
            config.Validate();
            var (accelerator, notice) = AcceleratorSelector.Select(config.Accelerator, [new KvmAccelerator(), new SoftwareAccelerator()]);
            if (notice != null)
            {
                Console.Error.WriteLine($"vessel: {notice}");
            }

            using var built = MachineBuilder.Build(config, accelerator, new ConsoleSerialOutput(), log);
            return ConsoleSession.Run(built, log);
        }
        catch (Exception exception) when (exception is ConfigurationException or BootImageException or KvmException)
        {
            Console.Error.WriteLine($"vessel: {exception.Message}");
            return 1;
        }
    }
}
