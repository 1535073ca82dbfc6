using System.CommandLine;
using Vessel.Core.Logging;
using Vessel.Vmm.Configuration;
using Vessel.Vmm.Images;

namespace Vessel.Cli.Commands;

/// <summary>
/// <c>vessel demo</c>: boots Debian's cloud kernel to a busybox shell on this terminal, its root file system on a virtio
/// disk (the demo's own writable view of the cached rootfs.ext4, see <see cref="DemoDisk"/>) and eth0 on user networking
/// with its address by DHCP (when passt is installed), fetching and caching the images with <c>scripts/guest-images.sh</c>
/// on first use.
/// </summary>
public static class DemoCommand
{
    /// <summary>The console on COM1; panic=-1 turns a kernel panic into a reboot, so the VM ends instead of hanging.</summary>
    public const string DefaultCommandLine = "console=ttyS0 panic=-1";

    public static Command Create()
    {
        var memory = new Option<string>("--memory", "-m")
        {
            Description = "Guest RAM; a bare number is MiB, or use K/M/G suffixes.",
            DefaultValueFactory = _ => "256M",
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
        var kernel = new Option<string>("--kernel-image")
        {
            Description = "Which form of the cached kernel to boot: bzimage (as Debian ships it) or vmlinux (already decompressed, starts faster).",
            DefaultValueFactory = _ => "bzimage",
        };
        kernel.AcceptOnlyFromAmong("bzimage", "vmlinux");
        var append = new Option<string?>("--append") { Description = $"Extra kernel arguments after \"{DefaultCommandLine}\"." };
        var fresh = new Option<bool>("--fresh")
        {
            Description = $"Discard the demo's disk (in {DemoDisk.DefaultDirectory}) and start again from the pristine root file system.",
        };
        var noDisk = new Option<bool>("--no-disk") { Description = "Boot without the root disk, to a shell in the initramfs (nothing written survives)." };
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Print what the VMM is doing to stderr." };

        var command = new Command(
            "demo",
            "Boot a Debian kernel to a busybox shell on this terminal, its root on a virtio disk that keeps what you write (fetches the images on first use; Ctrl-A X quits).")
        {
            memory, cpus, accel, cpu, kernel, append, fresh, noDisk, verbose,
        };
        command.SetAction(parse => Execute(
            parse.GetValue(memory) ?? "256M",
            parse.GetValue(cpus),
            parse.GetValue(accel) ?? "auto",
            parse.GetValue(cpu),
            parse.GetValue(kernel) ?? "bzimage",
            parse.GetValue(append),
            parse.GetValue(fresh),
            parse.GetValue(noDisk),
            parse.GetValue(verbose)));
        return command;
    }

    private static int Execute(
        string memory, int cpus, string accel, string? cpu, string kernelImage, string? append, bool fresh, bool noDisk, bool verbose) =>
        MachineLauncher.Run(
            MachineLauncher.ParseAccelerator(accel),
            () =>
            {
                var images = GuestImages.Ensure(AppContext.BaseDirectory);
                DiskConfig[] disks = noDisk
                    ? []
                    : [DemoDisk.Prepare(images, DemoDisk.DefaultDirectory, fresh, message => Console.Error.WriteLine($"vessel: {message}"))];
                string commandLine = noDisk ? DefaultCommandLine : $"{DefaultCommandLine} {GuestImages.RootOnFirstDisk}";
                var networks = DemoNetwork.Interfaces();
                if (networks.Count > 0)
                {
                    // The guest's init takes a DHCP lease on eth0 before the shell, so wget works at the first prompt.
                    commandLine += " " + GuestImages.DhcpOnFirstInterface;
                }

                Console.Error.WriteLine(
                    $"vessel: booting Debian's {images.KernelPackage} with busybox {images.BusyboxVersion}"
                    + (noDisk ? string.Empty : $", root on {disks[0].Path}") + " (poweroff or Ctrl-A X to leave)");
                return new MachineConfig
                {
                    KernelPath = kernelImage == "vmlinux" ? images.VmlinuxPath : images.BzImagePath,
                    InitrdPath = images.InitramfsPath,
                    CommandLine = string.IsNullOrWhiteSpace(append) ? commandLine : $"{commandLine} {append}",
                    Disks = disks,
                    MemoryBytes = MemorySize.Parse(memory),
                    VcpuCount = cpus,
                    Accelerator = MachineLauncher.ParseAccelerator(accel),
                    Cpu = cpu,
                    NetworkInterfaces = networks,
                };
            },
            new StandardErrorLog(verbose));
}
