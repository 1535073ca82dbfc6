using System.Globalization;

namespace Vessel.Bench;

/// <summary>
/// Vessel's CPU benchmarks.
///   cpu [iterations] [repeats]      guest instructions per second on the software CPU (in process)
///   compare [iterations] [repeats]  the same loop as a multiboot kernel, Vessel vs qemu-system-x86_64 -accel tcg, side by side
///   image FILE [iterations]         writes the multiboot kernel (to run by hand)
///   linux [vcpus] [repeats]         Debian kernel + busybox initramfs to userspace, Vessel vs QEMU TCG
///   disk [rounds]                   64 MiB sequential virtio-blk write and read inside that guest, Vessel vs QEMU TCG
///   shell [iterations] [rounds]     a busybox shell loop timed inside that guest, --jit off and on vs QEMU TCG
///   sieve [kvm-unit-tests] [repeats] kvm-unit-tests' x86/sieve.flat (the tree as argument or KUT_DIR), --jit off and on vs QEMU TCG
///   jitcost [programs]              compiling tier: RyuJIT's time per block on random integer code
///   doorbell [writes] [repeats]     KVM: a virtio doorbell as an MMIO exit vs an ioeventfd, an MSI by ioctl vs an irqfd
/// Run with: dotnet run -c Release --project bench/Vessel.Bench -- compare
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        string mode = args.Length > 0 ? args[0] : "cpu";
        uint Iterations(int index, uint fallback) => args.Length > index ? uint.Parse(args[index], CultureInfo.InvariantCulture) : fallback;
        int Repeats(int index) => args.Length > index ? int.Parse(args[index], CultureInfo.InvariantCulture) : 5;
        switch (mode)
        {
            case "cpu":
                return CpuThroughput.Run(Iterations(1, 20_000_000), Repeats(2));
            case "compare":
                return QemuComparison.Run(Iterations(1, 30_000_000), Repeats(2));
            case "linux":
                return LinuxBootComparison.Run(args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 1, Repeats(2) == 5 && args.Length <= 2 ? 3 : Repeats(2));
            case "disk":
                return DiskThroughputComparison.Run(args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 3);
            case "shell":
                return ShellLoopComparison.Run(args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 100_000,
                    args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 3);
            case "sieve":
                return SieveComparison.Run(args.Length > 1 ? args[1] : Environment.GetEnvironmentVariable("KUT_DIR"),
                    args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 1);
            case "jitcost":
                return CompileCost.Run(args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 20);
            case "doorbell":
                return DoorbellCost.Run(Iterations(1, 200_000), Repeats(2) == 5 && args.Length <= 2 ? 3 : Repeats(2));
            case "image":
                File.WriteAllBytes(args[1], MultibootLoopImage.Build(Iterations(2, 30_000_000)));
                return 0;
            default:
                Console.Error.WriteLine($"unknown mode '{mode}': use cpu, compare, linux, disk, shell, sieve, jitcost, doorbell or image");
                return 2;
        }
    }
}
