using Vessel.Boot.Acpi;
using Vessel.Boot.Layout;
using Vessel.Core.Accel;
using Vessel.Core.Bus;
using Vessel.Core.Logging;
using Vessel.Core.Snapshots;
using Vessel.Devices.Io;
using Vessel.Devices.Pci;
using Vessel.Vmm.Running;

namespace Vessel.Vmm.Building;

/// <summary>
/// The machine's device list and the one place devices get their resources: legacy devices on fixed ports, PCI functions
/// in slots with BARs from the <see cref="ResourceAllocator"/> and INTx routed to a GSI, and the I/O thread that serves them.
/// ACPI tables and the memory map are generated from this list, never re-stated.
/// </summary>
public sealed class DeviceManager : IDisposable
{
    private readonly Machine machine;
    private readonly ResourceAllocator resources;
    private readonly List<AttachedDevice> devices = [];
    private readonly List<IsaDevice> acpiDevices = [];
    private readonly List<(int Slot, int Gsi)> pciRoutes = [];
    private readonly List<PciFunction> pciFunctions = [];
    private readonly List<IDisposable> owned = [];
    private readonly List<(string Id, IStateful Device)> stateful = [];
    private readonly ulong mmio64Start;
    private bool disposed;

    public DeviceManager(Machine machine, IMachineLog log)
    {
        this.machine = machine;
        mmio64Start = PlatformLayout.PciMmio64Start(machine.Memory);
        resources = new ResourceAllocator(mmio64Start, PlatformLayout.PciMmio64Size);
        IoThread = new IoEventLoop(log, "vessel-io");
        if (machine.AcceleratorVm is IKernelIoEvents kernelIoEvents)
        {
            if (kernelIoEvents.IsAvailable(out string reason))
            {
                KernelIoEvents = kernelIoEvents;
                log.Info($"{machine.AcceleratorName}: virtio doorbells through ioeventfds and MSI-X through irqfds");
            }
            else
            {
                log.Info($"{machine.AcceleratorName}: virtio doorbells and MSI-X take the userspace exit path: {reason}");
            }
        }
        Pci = new PciRootComplex(machine.Mmio, machine.Ports, log);
        machine.Ports.Register(PciRootComplex.ConfigurationAddressPort, 4, Pci.AddressPort, "PCI configuration address");
        machine.Ports.Register(PciRootComplex.ConfigurationDataPort, 4, Pci.DataWindow, "PCI configuration data");
        machine.Mmio.Register(PlatformLayout.PciEcamStart, PciRootComplex.EcamBusSize, Pci.Ecam, "PCI ECAM");
        devices.Add(new AttachedDevice("PCI host bridge", (PciRootComplex.ConfigurationAddressPort, 8), PciSlot: 0));
        AddStateful("pci-root", Pci);
        AddStateful("pci 00.0", Pci[0]!);
    }

    /// <summary>
    /// Devices whose state a snapshot carries, each under a stable id, in the order they were attached: a machine built
    /// from the same configuration lists the same ids in the same order, which is how restore matches them up.
    /// </summary>
    public IReadOnlyList<(string Id, IStateful Device)> StatefulDevices => stateful;

    /// <summary>Adds <paramref name="device"/> to <see cref="StatefulDevices"/> under <paramref name="id"/>.</summary>
    public void AddStateful(string id, IStateful device)
    {
        if (stateful.Exists(entry => entry.Id == id))
        {
            throw new InvalidOperationException($"Two devices have the snapshot id '{id}'.");
        }

        stateful.Add((id, device));
    }

    public IReadOnlyList<AttachedDevice> Devices => devices;

    public PciRootComplex Pci { get; }

    /// <summary>The machine's I/O thread: virtio queues and host sockets are served there.</summary>
    public IoEventLoop IoThread { get; }

    /// <summary>
    /// The accelerator's in-kernel doorbells and MSI routes for PCI functions (KVM with ioeventfd, irqfd and GSI routing);
    /// null on the software CPU, or where the host kernel lacks them.
    /// </summary>
    public IKernelIoEvents? KernelIoEvents { get; }

    /// <summary>Ranges the OS must leave alone: the ECAM window (Linux checks MCFG against the e820 map).</summary>
    public IReadOnlyList<E820Entry> ReservedRanges => [new E820Entry(PlatformLayout.PciEcamStart, PciRootComplex.EcamBusSize, E820Type.Reserved)];

    /// <summary>The host bridge as ACPI describes it: windows and every slot's INTA# route.</summary>
    public PciRootDescription PciDescription => new()
    {
        EcamBase = PlatformLayout.PciEcamStart,
        Mmio32Start = PlatformLayout.PciMmio32Start,
        Mmio32Size = PlatformLayout.PciMmio32Size,
        Mmio64Start = mmio64Start,
        Mmio64Size = PlatformLayout.PciMmio64Size,
        InterruptRoutes = [.. pciRoutes],
    };

    /// <summary>Legacy devices with a PNP ID, for the DSDT.</summary>
    public IReadOnlyList<IsaDevice> AcpiDevices => acpiDevices;

    /// <summary>
    /// A legacy device on fixed ports. With <paramref name="acpi"/> (name and PNP ID) the DSDT describes it with its ports and IRQ.
    /// </summary>
    public void AttachIsa(string name, IBusDevice device, ushort port, int portCount, int? irq = null, (string Name, string HardwareId)? acpi = null)
    {
        machine.Ports.Register(port, (ulong)portCount, device, name);
        devices.Add(new AttachedDevice(name, (port, portCount), irq));
        if (acpi is { } description && irq is { } line)
        {
            acpiDevices.Add(new IsaDevice(description.Name, description.HardwareId, [(port, (byte)portCount)], line));
        }
    }

    /// <summary>Records a device registered on its own (several port ranges, MMIO) so the list stays complete.</summary>
    public void Record(AttachedDevice device) => devices.Add(device);

    /// <summary>
    /// Puts <paramref name="function"/> in the next free slot, places its BARs as firmware would (Linux keeps them: they lie
    /// in the bridge's windows), and wires INTA# to a PCI GSI. Returns the slot.
    /// </summary>
    public int AttachPci(PciFunction function, string name)
    {
        int slot = resources.AllocatePciSlot();
        int gsi = resources.AllocatePciGsi();
        Pci.Attach(slot, function);
        function.ConnectInterruptPin(machine.Interrupts.Line(gsi), (byte)gsi);
        foreach (var bar in function.Bars)
        {
            if (bar == null || bar.Kind == PciBarKind.Io)
            {
                continue;
            }

            // Small BARs go below 4 GiB even when 64-bit capable, where every guest (and 32-bit code) can reach them.
            ulong address = bar.Size <= 1UL << 28 ? resources.AllocateMmio32(bar.Size) : resources.AllocateMmio64(bar.Size);
            function.AssignBar(bar.Index, address);
        }

        pciFunctions.Add(function);
        pciRoutes.Add((slot, gsi));
        AddStateful($"pci {slot:x2}.0", function);
        devices.Add(new AttachedDevice(name, Gsi: gsi, PciSlot: slot));
        return slot;
    }

    /// <summary>Disposes <paramref name="resource"/> (a disk image, a socket) with the machine, after the I/O thread stopped.</summary>
    public void Own(IDisposable resource) => owned.Add(resource);

    public void Dispose()
    {
        if (disposed)
        {
            return;
        }

        disposed = true;
        IoThread.Dispose();

        // After the I/O thread: a function drops its ioeventfds and irqfds, which that thread may still have been serving.
        foreach (var function in pciFunctions)
        {
            (function as IDisposable)?.Dispose();
        }

        foreach (var resource in owned)
        {
            resource.Dispose();
        }
    }
}
