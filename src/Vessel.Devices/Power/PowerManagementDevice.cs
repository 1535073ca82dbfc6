using Vessel.Core.Bus;
using Vessel.Core.Interrupts;
using Vessel.Core.Logging;
using Vessel.Core.Snapshots;

namespace Vessel.Devices.Power;

/// <summary>
/// The ACPI fixed hardware of a non-hardware-reduced PC (ACPI 6.5 §4.8): the PM1a event block (status, enable), the PM1a
/// control block, and a reset register, in one block of I/O ports. Writing SLP_EN with the soft-off SLP_TYP powers the
/// machine off (S5); writing the reset value to the reset register resets it. Status bits raise the SCI while enabled.
/// </summary>
/// <remarks>
/// Register layout within the block (the machine builder describes the same ports in the FADT from these constants):
/// <list type="table">
/// <item><term>+0</term><description>PM1_STS, 16 bits, write 1 to clear</description></item>
/// <item><term>+2</term><description>PM1_EN, 16 bits</description></item>
/// <item><term>+4</term><description>PM1_CNT, 16 bits</description></item>
/// <item><term>+6</term><description>RESET_REG, 8 bits</description></item>
/// <item><term>+8..+15</term><description>reserved (a PM timer would go at +8); reads as 0, writes ignored</description></item>
/// </list>
/// Port 0x600 is where Cloud Hypervisor and QEMU's microvm put their ACPI registers; Vessel's block starts there too.
/// </remarks>
public sealed class PowerManagementDevice : IBusDevice, IStateful
{
    public const ushort ConventionalBasePort = 0x600;

    public const int BlockLength = 16;

    public const int StatusOffset = 0;

    public const int EnableOffset = 2;

    public const int ControlOffset = 4;

    public const int ResetRegisterOffset = 6;

    /// <summary>The SLP_TYP value the DSDT's \_S5 package names for soft-off (a platform choice; Cloud Hypervisor uses 5 too).</summary>
    public const byte SoftOffSleepType = 5;

    /// <summary>RESET_VALUE in the FADT: what the OS writes to the reset register.</summary>
    public const byte ResetValue = 0x01;

    /// <summary>The ISA IRQ of the SCI, as on PIIX-based PCs and QEMU.</summary>
    public const int ConventionalSciIrq = 9;

    private readonly object stateLock = new();
    private readonly IInterruptLine sci;
    private readonly ISystemControl systemControl;
    private readonly IMachineLog log;
    private readonly LogRateLimiter resetWarnings = new();
    private PowerManagementStatus status;
    private PowerManagementStatus enable;
    private PowerManagementControl control = PowerManagementControl.SciEnable;
    private bool reportedSleepType;

    public PowerManagementDevice(IInterruptLine sci, ISystemControl systemControl, IMachineLog log)
    {
        ArgumentNullException.ThrowIfNull(sci);
        ArgumentNullException.ThrowIfNull(systemControl);
        ArgumentNullException.ThrowIfNull(log);
        this.sci = sci;
        this.systemControl = systemControl;
        this.log = log;
    }

    /// <summary>Presses the fixed-feature power button: sets PWRBTN_STS and raises the SCI if the OS enabled it.</summary>
    public void PressPowerButton()
    {
        lock (stateLock)
        {
            status |= PowerManagementStatus.PowerButton;
            UpdateSci();
        }
    }

    public void Read(ulong offset, Span<byte> data)
    {
        lock (stateLock)
        {
            for (int i = 0; i < data.Length; i++)
            {
                data[i] = ReadByte(offset + (ulong)i);
            }
        }
    }

    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        MachineStop? stop = null;
        lock (stateLock)
        {
            // Registers are 16 bits wide; a byte access changes one half, as on a PIIX4.
            for (int i = 0; i < data.Length; i++)
            {
                ulong register = offset + (ulong)i;
                stop ??= WriteByte(register, data[i], isLastOfAccess: i == data.Length - 1 || (register & 1) == 1);
            }

            UpdateSci();
        }

        if (stop is { } requested)
        {
            systemControl.RequestStop(requested);
        }
    }

    private byte ReadByte(ulong offset) => offset switch
    {
        StatusOffset => (byte)status,
        StatusOffset + 1 => (byte)((ushort)status >> 8),
        EnableOffset => (byte)enable,
        EnableOffset + 1 => (byte)((ushort)enable >> 8),
        ControlOffset => (byte)control,
        ControlOffset + 1 => (byte)((ushort)control >> 8),
        _ => 0,
    };

    private MachineStop? WriteByte(ulong offset, byte value, bool isLastOfAccess)
    {
        switch (offset)
        {
            case StatusOffset:
                status &= ~(PowerManagementStatus)value;
                return null;
            case StatusOffset + 1:
                status &= ~(PowerManagementStatus)(value << 8);
                return null;
            case EnableOffset:
                enable = (PowerManagementStatus)(((ushort)enable & 0xFF00) | value) & PowerManagementStatus.EventsWithEnable;
                return null;
            case EnableOffset + 1:
                enable = (PowerManagementStatus)(((ushort)enable & 0x00FF) | (value << 8)) & PowerManagementStatus.EventsWithEnable;
                return null;
            case ControlOffset:
                control = (PowerManagementControl)(((ushort)control & 0xFF00) | value);
                return isLastOfAccess ? ApplyControl() : null;
            case ControlOffset + 1:
                control = (PowerManagementControl)(((ushort)control & 0x00FF) | (value << 8));
                return ApplyControl();
            case ResetRegisterOffset:
                if (value == ResetValue)
                {
                    return MachineStop.Reset();
                }

                // A guest can write here in a loop; the limiter keeps that from filling the host's disk through stderr.
                if (resetWarnings.TryAcquire(out long heldBack))
                {
                    log.Warn(LogRateLimiter.Summarize($"ACPI reset register written with 0x{value:x2}, not the reset value 0x{ResetValue:x2}; ignored.", heldBack));
                }

                return null;
            default:
                return null;
        }
    }

    /// <summary>Acts on SLP_EN, then keeps only the bits that stay set (SCI_EN is hard-wired to 1, SLP_EN and GBL_RLS read 0).</summary>
    private MachineStop? ApplyControl()
    {
        bool sleep = (control & PowerManagementControl.SleepEnable) != 0;
        int sleepType = ((int)(control & PowerManagementControl.SleepTypeMask)) >> (int)PowerManagementControl.SleepTypeShift;
        control = (control & PowerManagementControl.Stored) | PowerManagementControl.SciEnable;
        if (!sleep)
        {
            return null;
        }

        if (sleepType == SoftOffSleepType)
        {
            return MachineStop.PowerOff();
        }

        if (!reportedSleepType)
        {
            reportedSleepType = true;
            log.Warn($"The guest asked for ACPI sleep type {sleepType}; only soft-off (S5, type {SoftOffSleepType}) is offered. Ignored.");
        }

        return null;
    }

    public int StateVersion => 1;

    /// <summary>PM1 status, enable and control (SCI_EN among them); the SCI level follows from them and the IOAPIC holds it.</summary>
    public void SaveState(StateWriter writer)
    {
        lock (stateLock)
        {
            writer.WriteUInt16((ushort)status);
            writer.WriteUInt16((ushort)enable);
            writer.WriteUInt16((ushort)control);
        }
    }

    public void RestoreState(StateReader reader, int version)
    {
        lock (stateLock)
        {
            status = (PowerManagementStatus)reader.ReadUInt16();
            enable = (PowerManagementStatus)reader.ReadUInt16();
            control = (PowerManagementControl)reader.ReadUInt16();
        }
    }

    private void UpdateSci() => sci.SetLevel((status & enable & PowerManagementStatus.EventsWithEnable) != 0);
}
