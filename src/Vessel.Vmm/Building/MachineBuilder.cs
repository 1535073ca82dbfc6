using Vessel.Boot;
using Vessel.Core.Accel;
using Vessel.Core.Files;
using Vessel.Core.Logging;
using Vessel.Core.Memory;
using Vessel.Core.Time;
using Vessel.Devices.Clock;
using Vessel.Devices.Debug;
using Vessel.Devices.Firmware;
using Vessel.Devices.Keyboard;
using Vessel.Devices.Networking;
using Vessel.Devices.Serial;
using Vessel.Devices.Testing;
using Vessel.Devices.Storage;
using Vessel.Devices.Virtio.Block;
using Vessel.Devices.Virtio.Console;
using Vessel.Devices.Virtio.Entropy;
using Vessel.Devices.Virtio.Net;
using Vessel.Devices.Virtio.Transport;
using Vessel.Devices.Virtio.Vsock;
using Vessel.Vmm.Configuration;
using Vessel.Vmm.Running;

namespace Vessel.Vmm.Building;

/// <summary>
/// Assembles a machine from a validated configuration, in one place (Firecracker's builder.rs shape): guest memory, the
/// accelerator's VM, the device list (legacy PC devices on their conventional ports, PCI with virtio devices), ACPI tables
/// generated from that list, the kernel and its boot structures, and the vCPUs.
/// </summary>
public static class MachineBuilder
{
    /// <summary>COM1: 8 registers at 0x3F8, IRQ 4.</summary>
    public const ushort Com1Port = 0x3F8;
    public const int Com1Irq = 4;
    public const int KeyboardIrq = 1;
    public const int AuxiliaryIrq = 12;

    /// <summary>kvm-unit-tests runs QEMU with "-device isa-debug-exit,iobase=0xf4,iosize=0x4".</summary>
    public const int DebugExitPortSize = 4;

    public static BuiltMachine Build(MachineConfig config, IAccelerator accelerator, ISerialOutput consoleOutput, IMachineLog log)
    {
        config.Validate();
        RefuseVhost(config, accelerator);
        var kernel = KernelImage.FromBytes(ReadHostFile(config, config.KernelPath, ConfigField.KernelPath, MachineConfig.KernelDescription), config.KernelPath);
        if (kernel.IsStockLinux && !accelerator.BootsStockLinux(out string refusal))
        {
            throw new ConfigurationException($"--accel {accelerator.Name}: {refusal}");
        }

        ReadOnlyMemory<byte> initrd = config.InitrdPath != null
            ? ReadHostFile(config, config.InitrdPath, ConfigField.InitrdPath, MachineConfig.InitrdDescription)
            : ReadOnlyMemory<byte>.Empty;

        GuestMemory memory;
        try
        {
            memory = GuestMemory.Create(config.MemoryBytes);
        }
        catch (OutOfMemoryException exception)
        {
            throw new ConfigurationException(ConfigField.Memory, exception.Message);
        }

        return Assemble(config, accelerator, memory, consoleOutput, log, (machine, devices, vm, rsdp) =>
        {
            var loaded = KernelLoader.Load(memory, kernel, new KernelLoadOptions
            {
                CommandLine = config.CommandLine,
                Initrd = initrd,
                AcpiRsdpAddress = rsdp,
                ReservedRanges = devices.ReservedRanges,
            });
            for (int index = 0; index < config.VcpuCount; index++)
            {
                var vcpu = vm.CreateVcpu(index, machine.Io);
                vcpu.SetBootState(index == 0 ? loaded.BootState : ApplicationProcessorState());
                machine.AddVcpu(vcpu);
            }

            return loaded;
        });
    }

    /// <summary>
    /// Builds the machine a snapshot describes around <paramref name="memory"/>, which already holds the guest's RAM: the
    /// same devices in the same places as <see cref="Build"/> gives <paramref name="config"/>, and its vCPUs, but no kernel
    /// is loaded and no ACPI table written (both are in that RAM already). The caller restores the state into it.
    /// </summary>
    public static BuiltMachine BuildForRestore(MachineConfig config, IAccelerator accelerator, GuestMemory memory, ISerialOutput consoleOutput, IMachineLog log)
    {
        config.Validate(requireBootFiles: false);
        RefuseVhost(config, accelerator);
        return Assemble(config, accelerator, memory, consoleOutput, log, (machine, _, vm, _) =>
        {
            for (int index = 0; index < config.VcpuCount; index++)
            {
                machine.AddVcpu(vm.CreateVcpu(index, machine.Io));
            }

            return null;
        }, writeFirmwareTables: false);
    }

    /// <summary>The accelerator's VM and the device list over <paramref name="memory"/>; <paramref name="finish"/> adds the vCPUs.</summary>
    private static BuiltMachine Assemble(
        MachineConfig config,
        IAccelerator accelerator,
        GuestMemory memory,
        ISerialOutput consoleOutput,
        IMachineLog log,
        Func<Machine, DeviceManager, IAcceleratorVm, ulong, LoadedKernel?> finish,
        bool writeFirmwareTables = true)
    {
        IAcceleratorVm? vm = null;
        try
        {
            var clock = new VmClock();
            vm = accelerator.CreateVm(memory, new AcceleratorVmOptions(config.VcpuCount, config.ParseCpu(), clock, config.Jit), log);
            var machine = new Machine(memory, vm, accelerator.Name, clock, log);
            var devices = new DeviceManager(machine, log);
            machine.Own(devices);
            machine.AttachIoThread(devices.IoThread);
            var (console, keyboard) = AttachLegacyDevices(machine, devices, consoleOutput, log);
            AttachPlatformDevices(machine, devices, config);
            AttachTestDevice(machine, devices);
            var virtioConsole = AttachVirtioDevices(machine, devices, config, consoleOutput, log);
            ulong rsdp = AcpiBuilder.Attach(machine, devices, config.VcpuCount, log, writeFirmwareTables);
            var loaded = finish(machine, devices, vm, rsdp);
            if (config.TrackDirtyPages)
            {
                StartDirtyLog(vm, accelerator);
            }

            return new BuiltMachine(machine, console, keyboard, loaded)
            {
                Devices = devices,
                Config = config,
                VirtioConsole = virtioConsole,
                ConsoleIsVirtio = LastConsoleIsVirtio(config.CommandLine),
            };
        }
        catch
        {
            vm?.Dispose();
            memory.Dispose();
            throw;
        }
    }

    private static void StartDirtyLog(IAcceleratorVm vm, IAccelerator accelerator)
    {
        try
        {
            vm.StartDirtyLog();
        }
        catch (NotSupportedException)
        {
            throw new ConfigurationException(ConfigField.TrackDirtyPages, $"the {accelerator.Name} accelerator cannot track dirty pages yet, so diff snapshots are not available. Leave it off.");
        }
    }

    /// <summary>
    /// vhost=on: the kernel's vhost-net needs KVM's ioeventfd and irqfd to move frames without Vessel, so any other
    /// accelerator refuses it rather than silently give the guest a slower path than was asked for. On KVM the host's
    /// /dev/vhost-net is checked when the interface is built (<see cref="OpenVhost"/>).
    /// </summary>
    private static void RefuseVhost(MachineConfig config, IAccelerator accelerator)
    {
        foreach (var network in config.NetworkInterfaces)
        {
            if (!network.Vhost)
            {
                continue;
            }

            if (config.TrackDirtyPages)
            {
                // vhost-net writes received frames into guest memory behind KVM's dirty log (VHOST_F_LOG_ALL is not set up),
                // so a diff snapshot would miss those pages.
                throw new ConfigurationException(ConfigField.TrackDirtyPages, $"--net '{network.Id}' has vhost=on, whose kernel writes into guest memory are not tracked, so diff snapshots would miss them. Turn off one of the two.");
            }

            if (accelerator.Name != "kvm")
            {
                throw new ConfigurationException(
                    $"--net '{network.Id}': vhost=on needs the KVM accelerator (the kernel moves the frames between KVM's ioeventfd/irqfd and the TAP device), so --accel {accelerator.Name} cannot use it; remove vhost=on or use --accel kvm.");
            }
        }
    }

    /// <summary>Linux makes the last <c>console=</c> on its command line /dev/console.</summary>
    private static bool LastConsoleIsVirtio(string commandLine)
    {
        string? last = null;
        foreach (string word in commandLine.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (word.StartsWith("console=", StringComparison.Ordinal))
            {
                last = word["console=".Length..];
            }
        }

        return last != null && last.StartsWith("hvc", StringComparison.Ordinal);
    }

    /// <summary>Reads a kernel or initrd with the bound Validate checked: a file cannot be larger than the guest's RAM.</summary>
    private static byte[] ReadHostFile(MachineConfig config, string path, ConfigField field, string expected)
    {
        // HostFile names where a path came from in front of its message; the field goes there, for the front end to name.
        string marker = field.ToString();
        try
        {
            return HostFile.ReadAll(path, marker, expected, (long)Math.Min(config.MemoryBytes, long.MaxValue), config.MemoryLimitMeaning);
        }
        catch (HostFileException exception)
        {
            string detail = exception.Message.StartsWith(marker + ": ", StringComparison.Ordinal) ? exception.Message[(marker.Length + 2)..] : exception.Message;
            throw new ConfigurationException(field, detail, exception);
        }
    }

    /// <summary>An application processor waits in the reset state for INIT/SIPI from the bootstrap processor.</summary>
    private static VcpuBootState ApplicationProcessorState()
    {
        var state = VcpuBootState.PowerOnReset();
        state.WaitForStartup = true;
        return state;
    }

    /// <summary>
    /// The CMOS RTC (IRQ 8) and fw_cfg, the same under every accelerator: KVM hands both to userspace. The PIC, PIT,
    /// IOAPIC and local APICs are not here: they belong to the accelerator (KVM's in-kernel irqchip, or the software VM's).
    /// </summary>
    private static void AttachPlatformDevices(Machine machine, DeviceManager devices, MachineConfig config)
    {
        ulong below4GiB = machine.Memory.Regions[0].Size;
        var rtc = new CmosRtc(machine.Interrupts.Line(CmosRtc.Irq), below4GiB, machine.Memory.TotalSize - below4GiB, machine.Clock);
        machine.Own(rtc);
        devices.AttachIsa("CMOS RTC (MC146818)", rtc, CmosRtc.IndexPort, CmosRtc.PortCount, CmosRtc.Irq);
        devices.AddStateful("rtc", rtc);
        var firmware = new FirmwareConfiguration(config.MemoryBytes, config.VcpuCount, config.VcpuCount);
        devices.AttachIsa("fw_cfg", firmware, FirmwareConfiguration.SelectorPort, FirmwareConfiguration.PortCount);
    }

    /// <summary>
    /// The virtio devices on PCI: the entropy source (on by default, as Cloud Hypervisor does) and a virtio console (hvc0)
    /// whose output shares the serial console's destination.
    /// </summary>
    private static VirtioConsoleDevice AttachVirtioDevices(Machine machine, DeviceManager devices, MachineConfig config, ISerialOutput consoleOutput, IMachineLog log)
    {
        // Disks first and in the order given: Linux names virtio disks in PCI order, so the first is vda.
        foreach (var disk in config.Disks)
        {
            var backend = DiskImage.Open(disk.Path, disk.Format, disk.ReadOnly);
            devices.Own(backend);
            var block = new VirtioBlockDevice(backend, disk.Id, log);
            devices.AttachPci(new VirtioPciFunction(block, machine.Memory, machine.Interrupts, devices.IoThread, log, devices.KernelIoEvents), $"virtio-blk '{disk.Id}' ({disk.Path})");
        }

        // Network interfaces next, in the order given: the guest names them eth0, eth1, ... in PCI order.
        foreach (var network in config.NetworkInterfaces)
        {
            var backend = OpenNetworkBackend(network, devices, log);
            devices.Own(backend);
            byte[] mac = network.ResolveMac();
            var vhost = network.Vhost ? OpenVhost(network, (TapNetworkBackend)backend, machine, devices) : null;
            var net = new VirtioNetDevice(backend, mac, log, $"virtio-net '{network.Id}'", vhost: vhost);
            string description = network.Backend == NetworkBackendKind.User ? "user networking (passt)" : $"TAP {network.HostDeviceName}{(vhost != null ? ", vhost-net" : string.Empty)}";
            devices.AttachPci(
                new VirtioPciFunction(net, machine.Memory, machine.Interrupts, devices.IoThread, log, vhost != null ? devices.KernelIoEvents : null),
                $"virtio-net '{network.Id}' ({description}, {MacAddress.Format(mac)})");
        }

        if (config.Vsock is { } vsock)
        {
            var device = OpenVsock(vsock, devices, log);
            devices.Own(device);
            devices.AttachPci(new VirtioPciFunction(device, machine.Memory, machine.Interrupts, devices.IoThread, log), $"virtio-vsock (cid {vsock.GuestCid}, {vsock.UdsPath})");
        }

        var entropy = new VirtioEntropyDevice();
        devices.AttachPci(new VirtioPciFunction(entropy, machine.Memory, machine.Interrupts, devices.IoThread, log, devices.KernelIoEvents), "virtio-rng");
        var console = new VirtioConsoleDevice(consoleOutput);
        devices.AttachPci(new VirtioPciFunction(console, machine.Memory, machine.Interrupts, devices.IoThread, log, devices.KernelIoEvents), "virtio-console (hvc0)");
        return console;
    }

    /// <summary>
    /// vhost=on under KVM: the host's vhost-net over the interface's TAP device, which the device hands its queues to once the
    /// driver runs. Refused in one sentence when the host lacks /dev/vhost-net or KVM's ioeventfd/irqfd.
    /// </summary>
    private static VhostNetDataPath OpenVhost(NetworkInterfaceConfig network, TapNetworkBackend tap, Machine machine, DeviceManager devices)
    {
        string name = $"--net '{network.Id}'";
        if (machine.AcceleratorVm is not IVhostNetHost host)
        {
            throw new ConfigurationException($"{name}: vhost=on cannot be used: this accelerator has no vhost-net; remove vhost=on.");
        }

        if (!host.IsVhostNetAvailable(out string reason))
        {
            throw new ConfigurationException($"{name}: vhost=on cannot be used: {reason}");
        }

        if (devices.KernelIoEvents == null)
        {
            throw new ConfigurationException($"{name}: vhost=on needs KVM's ioeventfd and irqfd, which this KVM host does not offer; remove vhost=on.");
        }

        IVhostNet vhost;
        try
        {
            vhost = host.OpenVhostNet();
        }
        catch (IOException exception)
        {
            throw new ConfigurationException($"{name}: {exception.Message}", exception);
        }

        var dataPath = new VhostNetDataPath(vhost, tap.Descriptor, $"virtio-net '{network.Id}'");
        devices.Own(dataPath);
        return dataPath;
    }

    private static INetworkBackend OpenNetworkBackend(NetworkInterfaceConfig network, DeviceManager devices, IMachineLog log)
    {
        string name = $"--net '{network.Id}'";
        try
        {
            return network.Backend switch
            {
                NetworkBackendKind.User => Passt.Start(network.HostForwards, devices.IoThread, log, name),
                _ => new TapNetworkBackend(network.HostDeviceName!, devices.IoThread, log, name),
            };
        }
        catch (NetworkBackendException exception)
        {
            throw new ConfigurationException(exception.Message, exception);
        }
    }

    private static VirtioVsockDevice OpenVsock(VsockConfig vsock, DeviceManager devices, IMachineLog log)
    {
        try
        {
            return new VirtioVsockDevice(vsock.GuestCid, vsock.UdsPath, devices.IoThread, log);
        }
        catch (IOException exception)
        {
            throw new ConfigurationException(ConfigField.VsockUdsPath, exception.Message, exception);
        }
    }

    /// <summary>
    /// pc-testdev, which kvm-unit-tests expects beside isa-debug-exit. Its ports (0xE0-0xEB, 0x2000-0x2017) and its
    /// 64 KiB at 0xFF000000 are used by nothing else on this machine, and a guest that pokes them can only change its
    /// own interrupt lines.
    /// </summary>
    private static void AttachTestDevice(Machine machine, DeviceManager devices)
    {
        var device = new TestDevice(machine.Interrupts.Line);
        devices.Record(new AttachedDevice("pc-testdev"));
        machine.Ports.Register(TestDevice.DataLatchPort, TestDevice.DataLatchSize, device.DataLatch, "pc-testdev data latch");
        machine.Ports.Register(TestDevice.FlushPagePort, TestFlushPagePort.Size, device.FlushPage, "pc-testdev flush page");
        machine.Ports.Register(TestDevice.ByteDataLatchPort, TestDevice.DataLatchSize, device.DataLatch, "pc-testdev byte data latch");
        machine.Ports.Register(TestDevice.InterruptLinePortBase, TestInterruptLines.Count, device.InterruptLines, "pc-testdev interrupt lines");
        machine.Mmio.Register(TestDevice.MemoryBase, TestDevice.MemorySize, device.Memory, "pc-testdev memory");
    }

    private static (Uart16550 Console, I8042Controller Keyboard) AttachLegacyDevices(Machine machine, DeviceManager devices, ISerialOutput consoleOutput, IMachineLog log)
    {
        var com1 = new Uart16550(machine.Interrupts.Line(Com1Irq), consoleOutput);
        devices.AttachIsa("COM1 (16550A)", com1, Com1Port, 8, Com1Irq, acpi: ("COM1", "PNP0501"));
        devices.AddStateful("com1", com1);
        devices.AttachIsa("isa-debug-exit", new DebugExitPort(machine), DebugExitPort.ConventionalPort, DebugExitPortSize);
        devices.AttachIsa("POST code port", new PostCodePort(), PostCodePort.ConventionalPort, 1);
        var i8042 = new I8042Controller(machine.Interrupts.Line(KeyboardIrq), machine.Interrupts.Line(AuxiliaryIrq), machine, log);
        machine.Ports.Register(I8042Controller.DataPortNumber, 1, i8042.DataPort, "i8042 data");
        machine.Ports.Register(I8042Controller.CommandPortNumber, 1, i8042.CommandPort, "i8042 command/status");
        devices.Record(new AttachedDevice("i8042 (PS/2 keyboard)", (I8042Controller.DataPortNumber, 5), KeyboardIrq));
        devices.AddStateful("i8042", i8042);
        return (com1, i8042);
    }
}
