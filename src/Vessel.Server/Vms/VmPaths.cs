namespace Vessel.Server.Vms;

/// <summary>A VM's folder in the state directory and the files in it.</summary>
public sealed class VmPaths(string stateDirectory, string name)
{
    public string Directory { get; } = Path.Combine(stateDirectory, name);

    /// <summary>Firecracker's VM configuration as created; the VMM's <c>--config-file</c>.</summary>
    public string Config => Path.Combine(Directory, "config.json");

    public string Record => Path.Combine(Directory, "vm.json");

    /// <summary>The VMM's Firecracker API socket (<c>--api-sock</c>).</summary>
    public string ApiSocket => Path.Combine(Directory, "api.sock");

    /// <summary>FIFO: the VMM's stdin (the guest's serial input), held open read-write by the VMM so it never sees end-of-file.</summary>
    public string ConsoleIn => Path.Combine(Directory, "console.in");

    /// <summary>FIFO: the VMM's stdout (the guest's serial output); the daemon drains it into <see cref="ConsoleLog"/>.</summary>
    public string ConsoleOut => Path.Combine(Directory, "console.out");

    /// <summary>The serial console so far, bounded (a ring: the oldest half goes when it is full).</summary>
    public string ConsoleLog => Path.Combine(Directory, "console.log");

    /// <summary>The VMM's stderr, appended to across starts.</summary>
    public string VmmLog => Path.Combine(Directory, "vmm.log");
}
