using System.CommandLine;
using Vessel.Core.Logging;
using Vessel.Vmm.Configuration;

namespace Vessel.Cli.Commands;

/// <summary>
/// <c>vessel run</c>: boot one machine with its console on this terminal, from flags (<c>--kernel</c> ...), or
/// Firecracker-style from its API (<c>--api-sock</c>) and/or a configuration file (<c>--config-file</c>).
/// </summary>
public static class RunCommand
{
    public static Command Create()
    {
        var kernel = new Option<string>("--kernel", "-k")
        {
            Description = "Kernel to boot: a Linux bzImage or vmlinux (ELF64), or a multiboot image (ELF32/ELF64 or a.out kludge). "
                + "Required unless --api-sock or --config-file is given.",
        };
        var apiSocket = new Option<string?>("--api-sock")
        {
            Description = "Serve Firecracker's REST API on this Unix socket; without --config-file, wait for the machine to be configured and started through it.",
        };
        var configFile = new Option<string?>("--config-file")
        {
            Description = "Configure and start the machine from Firecracker's VM configuration JSON (boot-source, machine-config, drives, ...).",
        };
        var id = new Option<string>("--id")
        {
            Description = "The microVM's id, reported by GET / and in log lines (with --api-sock or --config-file).",
            DefaultValueFactory = _ => "anonymous-instance",
        };
        var initrd = new Option<string?>("--initrd", "-i") { Description = "Initial ramdisk (initramfs) for a Linux kernel." };
        var commandLine = new Option<string>("--cmdline", "-c")
        {
            Description = "Kernel command line (for multiboot: passed in the multiboot info).",
            DefaultValueFactory = _ => "console=ttyS0 reboot=k panic=1",
        };
        var memory = new Option<string>("--memory", "-m")
        {
            Description = "Guest RAM; a bare number is MiB, or use K/M/G suffixes (e.g. 512M, 2G).",
            DefaultValueFactory = _ => "128M",
        };
        var cpus = new Option<int>("--cpus")
        {
            Description = $"Number of vCPUs (1-{MachineConfig.MaxVcpus}).",
            DefaultValueFactory = _ => 1,
        };
        var accel = new Option<string>("--accel")
        {
            Description = "Accelerator: auto (KVM when usable, else the software CPU), kvm, or software.",
            DefaultValueFactory = _ => "auto",
        };
        accel.AcceptOnlyFromAmong("auto", "kvm", "software");
        var cpu = MachineLauncher.CreateCpuOption();
        var jit = MachineLauncher.CreateJitOption();
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Print what the VMM is doing to stderr." };
        var disks = new Option<string[]>("--disk")
        {
            Description = "A virtio disk: path=FILE[,readonly=on][,format=raw|qcow2][,id=NAME]; repeat for more (vda, vdb, ... in this order).",
        };

        var networks = new Option<string[]>("--net")
        {
            Description = "A virtio network interface: user[,hostfwd=tcp:HOSTADDR:HOSTPORT-:GUESTPORT]...[,mac=MAC][,id=NAME] (passt; no root) or tap=NAME[,mac=MAC]; repeat for more (eth0, eth1, ...).",
        };

        var vsock = new Option<string?>("--vsock")
        {
            Description = "A virtio-vsock device: cid=N,socket=PATH. Guest connections to host port P reach the Unix socket PATH_P; host clients connect to PATH and send 'CONNECT P\\n' (Firecracker's convention).",
        };

        var command = new Command("run", "Boot a virtual machine with its serial console on this terminal (Ctrl-A X quits).")
        {
            kernel, initrd, commandLine, memory, cpus, accel, cpu, disks, networks, vsock, jit, verbose, apiSocket, configFile, id,
        };
        command.SetAction(parse =>
        {
            string? apiSocketPath = parse.GetValue(apiSocket);
            string? configFilePath = parse.GetValue(configFile);
            if (apiSocketPath != null || configFilePath != null)
            {
                foreach (var option in new Option[] { kernel, initrd, commandLine, memory, cpus, disks, networks, vsock })
                {
                    if (parse.GetResult(option) is { Implicit: false })
                    {
                        Console.Error.WriteLine($"vessel: {option.Name}: not used with --api-sock or --config-file; the machine's settings come from the API or the file (boot-source, machine-config).");
                        return Program.UsageErrorStatus;
                    }
                }

                return ApiSession.Run(
                    apiSocketPath,
                    configFilePath,
                    parse.GetValue(id) ?? "anonymous-instance",
                    MachineLauncher.ParseAccelerator(parse.GetValue(accel) ?? "auto"),
                    parse.GetValue(cpu),
                    new StandardErrorLog(parse.GetValue(verbose)));
            }

            if (parse.GetValue(kernel) is not { } kernelPath)
            {
                Console.Error.WriteLine("vessel: --kernel: required (unless --api-sock or --config-file is given). Pass the path of a vmlinux, bzImage or multiboot image.");
                return Program.UsageErrorStatus;
            }

            return Execute(
                kernelPath,
                parse.GetValue(initrd),
                parse.GetValue(commandLine) ?? string.Empty,
                parse.GetValue(memory) ?? "128M",
                parse.GetValue(cpus),
                parse.GetValue(accel) ?? "auto",
                parse.GetValue(cpu),
                parse.GetValue(disks) ?? [],
                parse.GetValue(networks) ?? [],
                parse.GetValue(vsock),
                MachineLauncher.ParseJit(parse.GetValue(jit)),
                parse.GetValue(verbose));
        });
        return command;
    }

    private static int Execute(string kernel, string? initrd, string commandLine, string memory, int cpus, string accel, string? cpu, string[] disks, string[] networks, string? vsock, bool? jit, bool verbose) =>
        MachineLauncher.Run(
            MachineLauncher.ParseAccelerator(accel),
            () => new MachineConfig
            {
                KernelPath = kernel,
                InitrdPath = initrd,
                CommandLine = commandLine,
                MemoryBytes = MemorySize.Parse(memory),
                VcpuCount = cpus,
                Accelerator = MachineLauncher.ParseAccelerator(accel),
                Cpu = cpu,
                Disks = [.. disks.Select((text, index) => DiskConfig.Parse(text, index))],
                Jit = jit,
                NetworkInterfaces = [.. networks.Select((text, index) => NetworkInterfaceConfig.Parse(text, index))],
                Vsock = vsock != null ? VsockConfig.Parse(vsock) : null,
            },
            new StandardErrorLog(verbose));
}
