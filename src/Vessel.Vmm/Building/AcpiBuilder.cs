using Vessel.Boot.Acpi;
using Vessel.Core.Logging;
using Vessel.Devices.Keyboard;
using Vessel.Devices.Power;
using Vessel.Vmm.Running;

namespace Vessel.Vmm.Building;

/// <summary>
/// The machine's ACPI side, the same under every accelerator: the power-management device on its ports, and tables in
/// guest memory that describe it, the vCPUs, the interrupt controllers and the legacy devices.
/// </summary>
internal static class AcpiBuilder
{
    /// <summary>Registers the PM device, writes the tables, and returns the RSDP's guest-physical address for boot_params.</summary>
    public static ulong Attach(Machine machine, DeviceManager devices, int vcpuCount, IMachineLog log, bool writeTables = true)
    {
        var power = new PowerManagementDevice(machine.Interrupts.Line(PowerManagementDevice.ConventionalSciIrq), machine, log);
        devices.AttachIsa("ACPI PM1a and reset register", power, PowerManagementDevice.ConventionalBasePort, PowerManagementDevice.BlockLength, PowerManagementDevice.ConventionalSciIrq);
        devices.AddStateful("acpi-pm", power);
        if (!writeTables)
        {
            // A restored machine's RAM already holds the tables this machine wrote when it was built.
            return 0;
        }

        const ushort basePort = PowerManagementDevice.ConventionalBasePort;
        var platform = new AcpiPlatform
        {
            ProcessorCount = vcpuCount,
            SciInterrupt = PowerManagementDevice.ConventionalSciIrq,
            Pm1aEventBlockPort = basePort + PowerManagementDevice.StatusOffset,
            Pm1aControlBlockPort = basePort + PowerManagementDevice.ControlOffset,
            ResetRegisterPort = basePort + PowerManagementDevice.ResetRegisterOffset,
            ResetValue = PowerManagementDevice.ResetValue,
            SoftOffSleepType = PowerManagementDevice.SoftOffSleepType,
            IsaDevices =
            [
                .. devices.AcpiDevices,
                new IsaDevice("PS2K", "PNP0303", [(I8042Controller.DataPortNumber, 1), (I8042Controller.CommandPortNumber, 1)], MachineBuilder.KeyboardIrq),
            ],
            Pci = devices.PciDescription,
        };
        var layout = AcpiTables.Write(machine.Memory, platform);
        log.Info($"ACPI: RSDP at 0x{layout.RsdpAddress:x}, tables up to 0x{layout.End:x}, {vcpuCount} processor(s), PM block at port 0x{basePort:x}");
        return layout.RsdpAddress;
    }
}
