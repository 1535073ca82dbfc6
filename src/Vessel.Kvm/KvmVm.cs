using System.Runtime.InteropServices;
using Vessel.Core.Accel;
using Vessel.Core.Logging;
using Vessel.Core.Memory;
using Vessel.Kvm.Cpuid;
using Vessel.Kvm.Interop;

namespace Vessel.Kvm;

/// <summary>
/// A KVM virtual machine: its memory slots over the machine's <see cref="GuestMemory"/>, the in-kernel irqchip and PIT,
/// and its vCPUs. Device interrupts arrive here as GSI levels and MSIs.
/// </summary>
public sealed unsafe partial class KvmVm : IAcceleratorVm, IKernelIoEvents, IVhostNetHost
{
    /// <summary>
    /// Three pages for the TSS Intel hosts need to run real mode (KVM_SET_TSS_ADDR), and the identity-map page table
    /// just below them (KVM_SET_IDENTITY_MAP_ADDR). Both sit in the MMIO hole, clear of RAM, the IOAPIC and LAPIC
    /// windows and the firmware area under 4 GiB, where api.rst asks for addresses no slot or device uses.
    /// </summary>
    public const ulong TssAddress = 0xFFFB_D000;

    public const ulong IdentityMapAddress = 0xFFFB_C000;

    private readonly SafeKvmVmHandle handle;
    private readonly CpuidEntry[] supportedCpuid;
    private readonly CpuTemplate cpuTemplate;
    private readonly int vcpuMmapSize;
    private readonly int vcpuCount;
    private readonly IMachineLog log;
    private readonly object routingLock = new();

    /// <summary>The GSI routing table, or null when the host lacks what <see cref="IKernelIoEvents"/> needs.</summary>
    private readonly KvmGsiRoutingTable? routing;
    private readonly string kernelIoEventsMissing;
    private bool reportedRoutingRefusal;

    private KvmVm(SafeKvmVmHandle handle, GuestMemory memory, KvmStateSupport stateSupport, CpuidEntry[] supportedCpuid, CpuTemplate cpuTemplate, int vcpuMmapSize, int vcpuCount, IMachineLog log, int routeLimit, string kernelIoEventsMissing)
    {
        this.memory = memory;
        this.stateSupport = stateSupport;
        this.handle = handle;
        this.supportedCpuid = supportedCpuid;
        this.cpuTemplate = cpuTemplate;
        this.vcpuMmapSize = vcpuMmapSize;
        this.vcpuCount = vcpuCount;
        this.log = log;
        this.kernelIoEventsMissing = kernelIoEventsMissing;
        routing = kernelIoEventsMissing.Length == 0 ? new KvmGsiRoutingTable(routeLimit) : null;
    }

    /// <summary>The capabilities <see cref="IKernelIoEvents"/> rests on, with what each is for.</summary>
    internal static readonly IReadOnlyList<(KvmCapability Capability, string Name, string NeededFor)> KernelIoEventCapabilities =
    [
        (KvmCapability.Ioeventfd, "KVM_CAP_IOEVENTFD", "virtio doorbells without an exit to userspace"),
        (KvmCapability.Irqfd, "KVM_CAP_IRQFD", "interrupts raised through an eventfd"),
        (KvmCapability.IrqRouting, "KVM_CAP_IRQ_ROUTING", "routing GSIs to MSI messages"),
    ];

    /// <summary>Creates and configures a VM in the order of api.rst: VM, TSS and identity map, irqchip, PIT, memory slots.</summary>
    internal static KvmVm Create(KvmHost host, GuestMemory memory, AcceleratorVmOptions options, CpuTemplate cpuTemplate, IMachineLog log)
    {
        int maxVcpus = host.MaxVcpus;
        if (options.VcpuCount < 1 || options.VcpuCount > maxVcpus)
        {
            throw new KvmUnavailableException(KvmHostMessages.TooManyVcpus(options.VcpuCount, maxVcpus));
        }

        int maxSlots = host.MaxMemorySlots;
        if (memory.Regions.Count > maxSlots)
        {
            throw new KvmUnavailableException(KvmHostMessages.TooManyMemoryRegions(memory.Regions.Count, maxSlots));
        }

        CpuidEntry[] supportedCpuid = host.GetSupportedCpuid();
        if (options.Cpu is { } cpu)
        {
            cpuTemplate = cpuTemplate.WithModel(KvmCpuModel.Create(cpu, supportedCpuid, log), cpu);
        }
        if (KvmHost.IsPagetableVirtualMachine)
        {
            log.Warn($"KVM: {KvmHostMessages.PvmCannotRunStockKernels}");
        }

        SafeKvmVmHandle vm = host.CreateVm();
        try
        {
            ulong identityMap = IdentityMapAddress;

            // Safety: identityMap is a local __u64, the argument type KVM_SET_IDENTITY_MAP_ADDR reads.
            KvmIoctlException.ThrowIfFailed(Libc.Ioctl(vm, KvmIoctls.SetIdentityMapAddr, &identityMap), "KVM_SET_IDENTITY_MAP_ADDR");
            KvmIoctlException.ThrowIfFailed(Libc.Ioctl(vm, KvmIoctls.SetTssAddr, unchecked((nint)TssAddress)), "KVM_SET_TSS_ADDR");
            KvmIoctlException.ThrowIfFailed(Libc.Ioctl(vm, KvmIoctls.CreateIrqchip, 0), "KVM_CREATE_IRQCHIP");

            var pitConfig = new KvmPitConfig { Flags = KvmConstants.PitSpeakerDummy };

            // Safety: pitConfig is a local kvm_pit_config, the size KVM_CREATE_PIT2 encodes.
            KvmIoctlException.ThrowIfFailed(Libc.Ioctl(vm, KvmIoctls.CreatePit2, &pitConfig), "KVM_CREATE_PIT2");

            for (int slot = 0; slot < memory.Regions.Count; slot++)
            {
                MemoryRegion region = memory.Regions[slot];
                var memoryRegion = new KvmUserspaceMemoryRegion
                {
                    Slot = (uint)slot,
                    Flags = 0,
                    GuestPhysAddr = region.Start.Value,
                    MemorySize = region.Size,
                    UserspaceAddr = (ulong)region.HostAddress,
                };

                // Safety: memoryRegion is a local kvm_userspace_memory_region; the host range it names stays mapped for GuestMemory's lifetime.
                if (Libc.Ioctl(vm, KvmIoctls.SetUserMemoryRegion, &memoryRegion) < 0)
                {
                    throw new KvmUnavailableException(KvmHostMessages.MemoryRefused(region.Start.Value, region.Size, Marshal.GetLastPInvokeError()));
                }
            }

            log.Info($"KVM: VM created with {memory.Regions.Count} memory slot(s), {memory.TotalSize >> 20} MiB, in-kernel irqchip and PIT");
            string missing = string.Join(", ", KernelIoEventCapabilities.Where(c => host.CheckExtension(c.Capability) <= 0).Select(c => $"{c.Name} ({c.NeededFor})"));
            int routeLimit = host.CheckExtension(KvmCapability.IrqRouting);
            if (missing.Length == 0 && routeLimit < KvmGsiRoutingTable.DefaultEntryCount + 1)
            {
                missing = $"KVM_CAP_IRQ_ROUTING allows only {routeLimit} routes";
            }

            return new KvmVm(vm, memory, KvmStateSupport.Probe(host), supportedCpuid, cpuTemplate, host.VcpuMmapSize, options.VcpuCount, log, routeLimit, missing);
        }
        catch
        {
            vm.Dispose();
            throw;
        }
    }

    public IVcpu CreateVcpu(int index, IVcpuIo io)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, vcpuCount);
        ArgumentNullException.ThrowIfNull(io);

        var vcpu = new SafeKvmVcpuHandle(Libc.Ioctl(handle, KvmIoctls.CreateVcpu, index));
        if (vcpu.IsInvalid)
        {
            int errno = Marshal.GetLastPInvokeError();
            KvmIoctlException.Throw($"KVM_CREATE_VCPU {index}", errno);
        }

        KvmRunMapping? run = null;
        try
        {
            run = KvmRunMapping.Map(vcpu, vcpuMmapSize, out int errno);
            if (run is null)
            {
                KvmIoctlException.Throw($"mmap of vCPU {index}'s kvm_run", errno);
            }

            SetCpuid(vcpu, index);
            var created = new KvmVcpu(index, vcpu, run!, new KvmExitDispatcher(io), log, stateSupport);
            lock (vcpus)
            {
                vcpus.Add(created);
            }

            return created;
        }
        catch
        {
            run?.Dispose();
            vcpu.Dispose();
            throw;
        }
    }

    public void SetIrqLine(int gsi, bool asserted)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(gsi);
        var level = new KvmIrqLevel { Irq = (uint)gsi, Level = asserted ? 1u : 0u };

        // Safety: level is a local kvm_irq_level, the size KVM_IRQ_LINE encodes.
        KvmIoctlException.ThrowIfFailed(Libc.Ioctl(handle, KvmIoctls.IrqLine, &level), $"KVM_IRQ_LINE (GSI {gsi})");
    }

    public void SendMsi(ulong address, uint data)
    {
        var msi = new KvmMsi { AddressLo = (uint)address, AddressHi = (uint)(address >> 32), Data = data };

        // Safety: msi is a local kvm_msi, the size KVM_SIGNAL_MSI encodes.
        if (Libc.Ioctl(handle, KvmIoctls.SignalMsi, &msi) < 0)
        {
            // api.rst §4.71: 0 means the guest blocked the MSI; the kernel's -1 (read back as EPERM) means no local APIC
            // accepted it. Both follow from how the guest programmed the device, so neither is a host error.
            int errno = Marshal.GetLastPInvokeError();
            if (errno != Libc.ErrorPermission)
            {
                KvmIoctlException.Throw($"KVM_SIGNAL_MSI (address 0x{address:x})", errno);
            }
        }
    }

    public bool IsAvailable(out string reason)
    {
        reason = kernelIoEventsMissing.Length == 0 ? string.Empty : $"this KVM host lacks {kernelIoEventsMissing}.";
        return routing != null;
    }

    public bool IsVhostNetAvailable(out string reason) => KvmVhostNet.IsAvailable(out reason);

    public IVhostNet OpenVhostNet() => KvmVhostNet.Open();

    public IKernelIoEvent RegisterMmioWrite(GuestAddress address, int length)
    {
        ThrowIfNoKernelIoEvents();
        return KvmIoEvent.Register(handle, address.Value, length);
    }

    public IKernelMsiRoute? CreateMsiRoute()
    {
        KvmGsiRoutingTable table = ThrowIfNoKernelIoEvents();
        int? gsi;
        lock (routingLock)
        {
            gsi = table.AllocateMsiGsi();
        }

        if (gsi is not { } allocated)
        {
            return null;
        }

        var eventFd = new SafeEventFdHandle(Libc.EventFd(0, Libc.EventFdCloseOnExec | Libc.EventFdNonBlock));
        var irqfd = new KvmIrqfd { Fd = (uint)eventFd.DangerousGetHandle(), Gsi = (uint)allocated };

        // Safety: irqfd is a local kvm_irqfd, the size KVM_IRQFD encodes. A GSI with no routing entry yet is accepted: a signal
        // before the first SetMessage reaches no interrupt controller.
        if (eventFd.IsInvalid || Libc.Ioctl(handle, KvmIoctls.Irqfd, &irqfd) < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            eventFd.Dispose();
            lock (routingLock)
            {
                table.Free(allocated);
            }

            KvmIoctlException.Throw($"KVM_IRQFD (GSI {allocated})", errno);
        }

        return new KvmMsiRoute(this, allocated, eventFd);
    }

    public void Dispose() => handle.Dispose();

    /// <summary>Points <paramref name="gsi"/>'s route at a message and installs the table; false when the kernel refused it.</summary>
    internal bool SetMsiMessage(int gsi, ulong address, uint data)
    {
        KvmGsiRoutingTable table = ThrowIfNoKernelIoEvents();
        lock (routingLock)
        {
            if (handle.IsClosed)
            {
                return false;
            }

            if (!table.SetMessage(gsi, address, data))
            {
                return true;
            }

            int errno = CommitRoutingLocked(table);
            if (errno == 0)
            {
                return true;
            }

            // The message came from the guest's MSI-X table; a message the kernel rejects is the guest's problem, so the route
            // is dropped (the caller sends that message through KVM_SIGNAL_MSI, which answers the same way hardware would).
            table.ClearMessage(gsi);
            CommitRoutingLocked(table);
            if (!reportedRoutingRefusal)
            {
                reportedRoutingRefusal = true;
                log.Warn($"KVM: KVM_SET_GSI_ROUTING refused the MSI message (address 0x{address:x}, data 0x{data:x}) for GSI {gsi}: errno {errno}; that vector's interrupts take the KVM_SIGNAL_MSI path (logged once).");
            }

            return false;
        }
    }

    /// <summary>Detaches the route's irqfd, drops its routing entry and gives its GSI back.</summary>
    internal void RemoveMsiRoute(KvmMsiRoute route)
    {
        var irqfd = new KvmIrqfd { Fd = (uint)route.EventFd.DangerousGetHandle(), Gsi = (uint)route.Gsi, Flags = KvmIrqfd.FlagDeassign };
        try
        {
            // Safety: irqfd is a local kvm_irqfd naming the eventfd and GSI of the assignment. A closed VM has dropped it already.
            _ = Libc.Ioctl(handle, KvmIoctls.Irqfd, &irqfd);
            lock (routingLock)
            {
                routing!.Free(route.Gsi);
                CommitRoutingLocked(routing);
            }
        }
        catch (ObjectDisposedException)
        {
        }

        route.EventFd.Dispose();
    }

    private KvmGsiRoutingTable ThrowIfNoKernelIoEvents() =>
        routing ?? throw new InvalidOperationException($"KVM ioeventfd and irqfd are unavailable: this KVM host lacks {kernelIoEventsMissing}.");

    /// <summary>KVM_SET_GSI_ROUTING with the whole table; 0 or the errno.</summary>
    private int CommitRoutingLocked(KvmGsiRoutingTable table)
    {
        KvmIrqRoutingEntry[] entries = table.Build();
        int bytes = sizeof(KvmIrqRouting) + (entries.Length * sizeof(KvmIrqRoutingEntry));
        byte* buffer = (byte*)NativeMemory.AllocZeroed((nuint)bytes);
        try
        {
            ((KvmIrqRouting*)buffer)->Nr = (uint)entries.Length;
            entries.CopyTo(new Span<KvmIrqRoutingEntry>(buffer + sizeof(KvmIrqRouting), entries.Length));

            // Safety: buffer holds the kvm_irq_routing header and exactly nr entries.
            return Libc.Ioctl(handle, KvmIoctls.SetGsiRouting, buffer) < 0 ? Marshal.GetLastPInvokeError() : 0;
        }
        finally
        {
            NativeMemory.Free(buffer);
        }
    }

    private void SetCpuid(SafeKvmVcpuHandle vcpu, int index)
    {
        CpuidEntry[] entries = (CpuidEntry[])supportedCpuid.Clone();
        cpuTemplate.Apply(entries, index, vcpuCount);

        int bytes = sizeof(KvmCpuid2) + (entries.Length * sizeof(KvmCpuidEntry2));
        byte* buffer = (byte*)NativeMemory.AllocZeroed((nuint)bytes);
        try
        {
            ((KvmCpuid2*)buffer)->Nent = (uint)entries.Length;
            var destination = new Span<KvmCpuidEntry2>(buffer + sizeof(KvmCpuid2), entries.Length);
            for (int i = 0; i < entries.Length; i++)
            {
                CpuidEntry entry = entries[i];
                destination[i] = new KvmCpuidEntry2
                {
                    Function = entry.Function,
                    Index = entry.Index,
                    Flags = entry.IndexSignificant ? KvmCpuidEntry2.FlagSignificantIndex : 0,
                    Eax = entry.Eax,
                    Ebx = entry.Ebx,
                    Ecx = entry.Ecx,
                    Edx = entry.Edx,
                };
            }

            // Safety: buffer holds the kvm_cpuid2 header and exactly nent entries.
            KvmIoctlException.ThrowIfFailed(Libc.Ioctl(vcpu, KvmIoctls.SetCpuid2, buffer), $"KVM_SET_CPUID2 (vCPU {index})");
        }
        finally
        {
            NativeMemory.Free(buffer);
        }
    }
}
