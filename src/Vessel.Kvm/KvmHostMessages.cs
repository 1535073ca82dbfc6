using System.Runtime.InteropServices;
using Vessel.Kvm.Interop;

namespace Vessel.Kvm;

/// <summary>The sentences a user reads when KVM cannot be used, each naming the fix.</summary>
internal static class KvmHostMessages
{
    private const string Fallback = " (or run with --accel software)";

    public static string OpenFailed(string path, int errno) => errno switch
    {
        Libc.ErrorNoEntry or Libc.ErrorNoDevice or Libc.ErrorNoDeviceOrAddress =>
            $"{path} does not exist: load the KVM module (modprobe kvm_intel or kvm_amd) and enable virtualization in the firmware, or on a cloud VM choose an instance type with nested virtualization enabled{Fallback}.",
        Libc.ErrorAccess or Libc.ErrorPermission =>
            $"Permission denied opening {path}: add your user to the kvm group (sudo usermod -aG kvm $USER, then log in again){Fallback}.",
        _ => $"Could not open {path}: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno}); check that KVM is loaded and usable{Fallback}.",
    };

    public static string ApiVersionMismatch(int version) =>
        version < 0
            ? $"KVM_GET_API_VERSION failed on this host; the device is not a working KVM, so check the kvm module{Fallback}."
            : $"This host's KVM reports API version {version}, but Vessel speaks version {KvmConstants.ApiVersion}: use a mainline Linux kernel's KVM{Fallback}.";

    public static string CapabilityMissing(string capability, string neededFor) =>
        $"This host's KVM lacks {capability}, which Vessel needs for {neededFor}: run on a Linux 4.11 or newer kernel with KVM for x86{Fallback}.";

    public static string TooManyVcpus(int requested, int maximum) =>
        $"This host's KVM allows at most {maximum} vCPUs per VM, not {requested}: ask for fewer vCPUs.";

    public static string TooManyMemoryRegions(int requested, int maximum) =>
        $"This host's KVM allows {maximum} memory slots, but guest RAM needs {requested}: use less memory so it fits below the 3 GiB hole.";

    public static string MemoryRefused(ulong guestAddress, ulong size, int errno) =>
        $"KVM refused {size >> 20} MiB of guest RAM at guest address 0x{guestAddress:x}: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno}); use a smaller --memory or raise the host's memory limits.";

    public static string CreateVmFailed(int errno) =>
        $"KVM could not create a VM: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno}); another hypervisor may hold the virtualization extensions, or the host is out of memory{Fallback}.";

    /// <summary>The one sentence `--accel kvm` with a stock Linux kernel ends with on a PVM host, before anything runs.</summary>
    public const string PvmRefusesStockLinux =
        "this host's KVM is PVM (the kvm_pvm module), which cannot boot a Linux kernel that is not built as a PVM guest; "
        + "use --accel software, or a host with hardware virtualization (VT-x/AMD-V).";

    /// <summary>Why a stock Linux kernel cannot boot under PVM, found by booting Debian's 6.1 cloud kernel on such a host.</summary>
    public const string PvmCannotRunStockKernels =
        "this host's KVM is PVM (the kvm_pvm module), which runs a non-PVM guest kernel through KVM's instruction emulator: "
        + "about 500 times slower than hardware, and stopping with KVM_EXIT_INTERNAL_ERROR at instructions the emulator lacks "
        + "(INT3 in 64-bit mode, XRSTOR, CMPXCHG16B), all of which stock Linux executes while booting. "
        + "Small bare-metal guests run; for Linux use a host with hardware virtualization (VT-x/AMD-V) or --accel software.";
}
