using Vessel.Boot;
using Vessel.Core.Accel;
using Vessel.Core.Logging;
using Vessel.Core.Memory;
using Vessel.Devices.Clock;
using Vessel.Devices.Debug;
using Vessel.Devices.Firmware;
using Vessel.Devices.Keyboard;
using Vessel.Devices.Serial;
using Vessel.Devices.Testing;
using Vessel.Vmm.Configuration;
using Vessel.Vmm.Running;

namespace Vessel.Vmm.Building;

/// <summary>
/// Assembles a machine from a validated configuration, in one place (Firecracker's builder.rs shape): guest memory, the
/// accelerator's VM, the legacy PC devices on their conventional ports, the kernel and its boot structures, and the vCPUs.
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
        var kernel = KernelImage.FromFile(config.KernelPath);
        ReadOnlyMemory<byte> initrd = config.InitrdPath != null ? ReadInitrd(config.InitrdPath) : ReadOnlyMemory<byte>.Empty;

        GuestMemory memory;
        try
        {
            memory = GuestMemory.Create(config.MemoryBytes);
        }
        catch (OutOfMemoryException exception)
        {
            throw new ConfigurationException($"--memory: {exception.Message}");
        }

        IAcceleratorVm? vm = null;
        try
        {
            vm = accelerator.CreateVm(memory, new AcceleratorVmOptions(config.VcpuCount, config.ParseCpu(), config.Jit), log);
            var machine = new Machine(memory, vm, accelerator.Name, log);
            var console = AttachLegacyDevices(machine, consoleOutput, log);
            AttachPlatformDevices(machine, config);
            AttachTestDevice(machine);
            ulong rsdp = AcpiBuilder.Attach(machine, config.VcpuCount, log);
            var loaded = KernelLoader.Load(memory, kernel, new KernelLoadOptions { CommandLine = config.CommandLine, Initrd = initrd, AcpiRsdpAddress = rsdp });
            for (int index = 0; index < config.VcpuCount; index++)
            {
                var vcpu = vm.CreateVcpu(index, machine.Io);
                vcpu.SetBootState(index == 0 ? loaded.BootState : ApplicationProcessorState());
                machine.AddVcpu(vcpu);
            }

            return new BuiltMachine(machine, console, loaded);
        }
        catch
        {
            vm?.Dispose();
            memory.Dispose();
            throw;
        }
    }

    private static ReadOnlyMemory<byte> ReadInitrd(string path)
    {
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            throw new ConfigurationException($"--initrd: '{path}' cannot be read ({exception.Message}).");
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
    private static void AttachPlatformDevices(Machine machine, MachineConfig config)
    {
        ulong below4GiB = machine.Memory.Regions[0].Size;
        var rtc = new CmosRtc(machine.Interrupts.Line(CmosRtc.Irq), below4GiB, machine.Memory.TotalSize - below4GiB);
        machine.Own(rtc);
        machine.Ports.Register(CmosRtc.IndexPort, CmosRtc.PortCount, rtc, "CMOS RTC (MC146818)");
        var firmware = new FirmwareConfiguration(config.MemoryBytes, config.VcpuCount, config.VcpuCount);
        machine.Ports.Register(FirmwareConfiguration.SelectorPort, FirmwareConfiguration.PortCount, firmware, "fw_cfg");
    }

    /// <summary>
    /// pc-testdev, which kvm-unit-tests expects beside isa-debug-exit. Its ports (0xE0-0xEB, 0x2000-0x2017) and its
    /// 64 KiB at 0xFF000000 are used by nothing else on this machine, and a guest that pokes them can only change its
    /// own interrupt lines.
    /// </summary>
    private static void AttachTestDevice(Machine machine)
    {
        var device = new TestDevice(machine.Interrupts.Line);
        machine.Ports.Register(TestDevice.DataLatchPort, TestDevice.DataLatchSize, device.DataLatch, "pc-testdev data latch");
        machine.Ports.Register(TestDevice.FlushPagePort, TestFlushPagePort.Size, device.FlushPage, "pc-testdev flush page");
        machine.Ports.Register(TestDevice.ByteDataLatchPort, TestDevice.DataLatchSize, device.DataLatch, "pc-testdev byte data latch");
        machine.Ports.Register(TestDevice.InterruptLinePortBase, TestInterruptLines.Count, device.InterruptLines, "pc-testdev interrupt lines");
        machine.Mmio.Register(TestDevice.MemoryBase, TestDevice.MemorySize, device.Memory, "pc-testdev memory");
    }

    private static Uart16550 AttachLegacyDevices(Machine machine, ISerialOutput consoleOutput, IMachineLog log)
    {
        var com1 = new Uart16550(machine.Interrupts.Line(Com1Irq), consoleOutput);
        machine.Ports.Register(Com1Port, 8, com1, "COM1 (16550A)");
        machine.Ports.Register(DebugExitPort.ConventionalPort, DebugExitPortSize, new DebugExitPort(machine), "isa-debug-exit");
        machine.Ports.Register(PostCodePort.ConventionalPort, 1, new PostCodePort(), "POST code port");
        var i8042 = new I8042Controller(machine.Interrupts.Line(KeyboardIrq), machine.Interrupts.Line(AuxiliaryIrq), machine, log);
        machine.Ports.Register(I8042Controller.DataPortNumber, 1, i8042.DataPort, "i8042 data");
        machine.Ports.Register(I8042Controller.CommandPortNumber, 1, i8042.CommandPort, "i8042 command/status");
        return com1;
    }
}
