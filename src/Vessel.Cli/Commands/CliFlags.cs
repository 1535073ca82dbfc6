using Vessel.Vmm.Configuration;

namespace Vessel.Cli.Commands;

/// <summary>The command-line flag that sets each configuration field, so configuration errors name what the user typed.</summary>
internal static class CliFlags
{
    public static string For(ConfigField field) => field switch
    {
        ConfigField.KernelPath => "--kernel",
        ConfigField.InitrdPath => "--initrd",
        ConfigField.CommandLine => "--cmdline",
        ConfigField.Memory => "--memory",
        ConfigField.VcpuCount => "--cpus",
        ConfigField.Cpu => "--cpu",
        ConfigField.VsockGuestCid or ConfigField.VsockUdsPath => "--vsock",

        // Other devices' errors name the config file's field (the --disk and --net parsers name their flag themselves).
        _ => Api.FirecrackerFields.For(field),
    };
}
