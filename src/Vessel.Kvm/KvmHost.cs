using System.Runtime.InteropServices;
using Vessel.Kvm.Cpuid;
using Vessel.Kvm.Interop;

namespace Vessel.Kvm;

/// <summary>
/// An open /dev/kvm whose API version and capabilities have been checked (Documentation/virt/kvm/api.rst §4.1-4.4):
/// the source of VMs, of the vCPU mmap size and of the CPUID KVM can virtualize.
/// </summary>
internal sealed unsafe class KvmHost : IDisposable
{
    public const string DefaultDevicePath = "/dev/kvm";

    /// <summary>The capabilities Vessel cannot run without, and what each one is for.</summary>
    public static readonly IReadOnlyList<(KvmCapability Capability, string Name, string NeededFor)> RequiredCapabilities =
    [
        (KvmCapability.UserMemory, "KVM_CAP_USER_MEMORY", "guest RAM in host memory"),
        (KvmCapability.SetTssAddr, "KVM_CAP_SET_TSS_ADDR", "the real-mode TSS on Intel hosts"),
        (KvmCapability.SetIdentityMapAddr, "KVM_CAP_SET_IDENTITY_MAP_ADDR", "the real-mode identity page table on Intel hosts"),
        (KvmCapability.Irqchip, "KVM_CAP_IRQCHIP", "the in-kernel PIC, IOAPIC and local APICs"),
        (KvmCapability.Pit2, "KVM_CAP_PIT2", "the in-kernel PIT"),
        (KvmCapability.ExtCpuid, "KVM_CAP_EXT_CPUID", "choosing the CPUID the guest sees"),
        (KvmCapability.MpState, "KVM_CAP_MP_STATE", "starting secondary vCPUs in wait-for-SIPI"),
        (KvmCapability.SignalMsi, "KVM_CAP_SIGNAL_MSI", "PCI MSI and MSI-X interrupts"),
        (KvmCapability.ImmediateExit, "KVM_CAP_IMMEDIATE_EXIT", "stopping a running vCPU without races"),
    ];

    private const int FirstCpuidEntryGuess = 256;
    private const int MaxCpuidEntries = 4096;

    private readonly SafeKvmHandle handle;

    private KvmHost(SafeKvmHandle handle, int vcpuMmapSize)
    {
        this.handle = handle;
        VcpuMmapSize = vcpuMmapSize;
    }

    /// <summary>KVM_GET_VCPU_MMAP_SIZE: bytes to mmap from each vCPU descriptor (kvm_run and the pages after it).</summary>
    public int VcpuMmapSize { get; }

    /// <summary>Opens and checks <paramref name="path"/>; throws <see cref="KvmUnavailableException"/> with the fix when KVM cannot be used.</summary>
    public static KvmHost Open(string path = DefaultDevicePath)
    {
        var handle = new SafeKvmHandle(Libc.Open(path, Libc.OpenReadWrite | Libc.OpenCloseOnExec));
        if (handle.IsInvalid)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw new KvmUnavailableException(KvmHostMessages.OpenFailed(path, errno));
        }

        try
        {
            int version = Libc.Ioctl(handle, KvmIoctls.GetApiVersion, 0);
            if (version != KvmConstants.ApiVersion)
            {
                throw new KvmUnavailableException(KvmHostMessages.ApiVersionMismatch(version));
            }

            foreach (var (capability, name, neededFor) in RequiredCapabilities)
            {
                if (Libc.Ioctl(handle, KvmIoctls.CheckExtension, (nint)capability) <= 0)
                {
                    throw new KvmUnavailableException(KvmHostMessages.CapabilityMissing(name, neededFor));
                }
            }

            int mmapSize = Libc.Ioctl(handle, KvmIoctls.GetVcpuMmapSize, 0);
            if (mmapSize < sizeof(KvmRun))
            {
                throw new KvmUnavailableException(
                    $"This host's KVM reports a vCPU mmap size of {mmapSize} bytes, smaller than kvm_run itself: the kvm module is broken (or use --accel software).");
            }

            return new KvmHost(handle, mmapSize);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Whether this host's KVM is PVM (the kvm_pvm module, "Pagetable-based Virtual Machine"): a KVM for nested guests that
    /// runs them without hardware virtualization, on shadow page tables, sending much of a non-PVM guest kernel's work
    /// through KVM's instruction emulator.
    /// </summary>
    public static bool IsPagetableVirtualMachine => Directory.Exists("/sys/module/kvm_pvm");

    /// <summary>KVM_CHECK_EXTENSION: 0 when absent, otherwise 1 or a capability-specific number.</summary>
    public int CheckExtension(KvmCapability capability) => Math.Max(0, Libc.Ioctl(handle, KvmIoctls.CheckExtension, (nint)capability));

    /// <summary>The most vCPUs one VM may have (api.rst §4.4: KVM_CAP_MAX_VCPUS, else KVM_CAP_NR_VCPUS, else 4).</summary>
    public int MaxVcpus
    {
        get
        {
            int max = CheckExtension(KvmCapability.MaxVcpus);
            if (max > 0)
            {
                return max;
            }

            int recommended = CheckExtension(KvmCapability.NrVcpus);
            return recommended > 0 ? recommended : 4;
        }
    }

    /// <summary>KVM_CAP_NR_MEMSLOTS, or the 32 slots every KVM has had when it does not say.</summary>
    public int MaxMemorySlots
    {
        get
        {
            int slots = CheckExtension(KvmCapability.NrMemslots);
            return slots > 0 ? slots : 32;
        }
    }

    /// <summary>KVM_CREATE_VM with the default machine type.</summary>
    public SafeKvmVmHandle CreateVm()
    {
        var vm = new SafeKvmVmHandle(Libc.Ioctl(handle, KvmIoctls.CreateVm, 0));
        if (vm.IsInvalid)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw new KvmUnavailableException(KvmHostMessages.CreateVmFailed(errno));
        }

        return vm;
    }

    /// <summary>KVM_GET_SUPPORTED_CPUID: every leaf KVM can present to a guest on this host, growing the buffer while the kernel says E2BIG.</summary>
    public CpuidEntry[] GetSupportedCpuid()
    {
        for (int capacity = FirstCpuidEntryGuess; capacity <= MaxCpuidEntries; capacity *= 2)
        {
            int bytes = sizeof(KvmCpuid2) + (capacity * sizeof(KvmCpuidEntry2));
            byte* buffer = (byte*)NativeMemory.AllocZeroed((nuint)bytes);
            try
            {
                var header = (KvmCpuid2*)buffer;
                header->Nent = (uint)capacity;

                // Safety: buffer holds the kvm_cpuid2 header and `capacity` entries, as nent tells the kernel.
                int result = Libc.Ioctl(handle, KvmIoctls.GetSupportedCpuid, buffer);
                if (result < 0)
                {
                    int errno = Marshal.GetLastPInvokeError();
                    if (errno == Libc.ErrorTooBig)
                    {
                        continue;
                    }

                    KvmIoctlException.Throw("KVM_GET_SUPPORTED_CPUID", errno);
                }

                int count = (int)Math.Min(header->Nent, (uint)capacity);
                var entries = new CpuidEntry[count];
                var source = new ReadOnlySpan<KvmCpuidEntry2>(buffer + sizeof(KvmCpuid2), count);
                for (int i = 0; i < count; i++)
                {
                    ref readonly KvmCpuidEntry2 entry = ref source[i];
                    entries[i] = new CpuidEntry(
                        entry.Function, entry.Index, (entry.Flags & KvmCpuidEntry2.FlagSignificantIndex) != 0, entry.Eax, entry.Ebx, entry.Ecx, entry.Edx);
                }

                return entries;
            }
            finally
            {
                NativeMemory.Free(buffer);
            }
        }

        throw new KvmIoctlException("KVM_GET_SUPPORTED_CPUID", Libc.ErrorTooBig, $"The host offers more than {MaxCpuidEntries} CPUID entries.");
    }

    /// <summary>KVM_GET_MSR_INDEX_LIST: the MSRs KVM saves and restores for a vCPU on this host (msrs_to_save and emulated_msrs).</summary>
    public uint[] GetMsrIndexList()
    {
        for (int capacity = 256; capacity <= 16384; capacity *= 2)
        {
            int bytes = sizeof(KvmMsrList) + (capacity * sizeof(uint));
            byte* buffer = (byte*)NativeMemory.AllocZeroed((nuint)bytes);
            try
            {
                ((KvmMsrList*)buffer)->Nmsrs = (uint)capacity;

                // Safety: buffer holds the kvm_msr_list header and `capacity` indices, as nmsrs tells the kernel.
                if (Libc.Ioctl(handle, KvmIoctls.GetMsrIndexList, buffer) < 0)
                {
                    int errno = Marshal.GetLastPInvokeError();
                    if (errno == Libc.ErrorTooBig)
                    {
                        continue;
                    }

                    KvmIoctlException.Throw("KVM_GET_MSR_INDEX_LIST", errno);
                }

                int count = (int)Math.Min(((KvmMsrList*)buffer)->Nmsrs, (uint)capacity);
                return new ReadOnlySpan<uint>(buffer + sizeof(KvmMsrList), count).ToArray();
            }
            finally
            {
                NativeMemory.Free(buffer);
            }
        }

        throw new KvmIoctlException("KVM_GET_MSR_INDEX_LIST", Libc.ErrorTooBig, "The host lists more than 16384 MSRs.");
    }

    public void Dispose() => handle.Dispose();
}
