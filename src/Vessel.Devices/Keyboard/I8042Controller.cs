using Vessel.Core.Bus;
using Vessel.Core.Interrupts;
using Vessel.Core.Logging;
using Vessel.Core.Snapshots;

namespace Vessel.Devices.Keyboard;

/// <summary>
/// The PC's i8042 keyboard controller: data at port 0x60, status and commands at 0x64, IRQ 1 for the keyboard and
/// IRQ 12 for the auxiliary port. It implements what Linux's i8042 and atkbd drivers use while probing (self tests,
/// command byte, loopback, identify) and the two ways a PC reboots through it (output port bit 0, pulse command 0xFE).
/// The auxiliary port has nothing attached: bytes sent to it time out, which Linux's psmouse treats as no mouse.
/// </summary>
public sealed class I8042Controller : IStateful
{
    public const ushort DataPortNumber = 0x60;

    public const ushort CommandPortNumber = 0x64;

    private const byte SelfTestPassed = 0x55;

    private const byte InterfaceTestPassed = 0x00;

    /// <summary>What a device that never answers leaves in the output buffer, with the timeout bit set (IBM PS/2 reference).</summary>
    private const byte NoDeviceResponse = 0xFE;

    /// <summary>Linux's i8042_flush gives up after I8042_BUFFER_SIZE (16) bytes; the controller queues no more than that.</summary>
    private const int PendingOutputCapacity = 16;

    private const int ControllerRamSize = 32;

    /// <summary>
    /// Ctrl, Alt and Delete pressed, then released in reverse order, in scan code set 2 (what the keyboard sends):
    /// Left Ctrl 0x14, Left Alt 0x11, Delete 0xE0 0x71; a release is 0xF0 before the make code (Firecracker's i8042 sends the same keys).
    /// </summary>
    private static readonly byte[] CtrlAltDelSet2 = [0x14, 0x11, 0xE0, 0x71, 0xE0, 0xF0, 0x71, 0xF0, 0x11, 0xF0, 0x14];

    /// <summary>The same keys as the controller's translation hands them to the guest in set 1: a release is the make code | 0x80.</summary>
    private static readonly byte[] CtrlAltDelSet1 = [0x1D, 0x38, 0xE0, 0x53, 0xE0, 0xD3, 0xB8, 0x9D];

    /// <summary>
    /// The command byte firmware hands over (SeaBIOS's choice): keyboard interrupt on, translation on, system flag set,
    /// auxiliary port disabled until a driver wants it.
    /// </summary>
    private const ControllerConfiguration FirmwareConfiguration =
        ControllerConfiguration.KeyboardInterruptEnable | ControllerConfiguration.SystemFlag
        | ControllerConfiguration.AuxiliaryDisable | ControllerConfiguration.Translate;

    private readonly object stateLock = new();
    private readonly IInterruptLine keyboardInterrupt;
    private readonly IInterruptLine auxiliaryInterrupt;
    private readonly ISystemControl systemControl;
    private readonly IMachineLog log;
    private readonly Ps2Keyboard keyboard = new();
    private readonly Queue<PendingOutput> pendingOutput = new(PendingOutputCapacity);
    private readonly byte[] ram = new byte[ControllerRamSize];
    private readonly bool[] reportedUnknownCommand = new bool[256];
    private readonly LogRateLimiter unknownCommandWarnings = new();

    private ControllerOutputPort outputPort = ControllerOutputPort.PowerOnDefault;
    private ControllerCommand? awaitingDataFor;
    private bool lastWriteWasCommand;
    private byte outputBuffer;
    private bool outputBufferFull;
    private ControllerStatus outputBufferStatus;
    private bool keyboardInterruptAsserted;
    private bool auxiliaryInterruptAsserted;

    public I8042Controller(IInterruptLine keyboardInterrupt, IInterruptLine auxiliaryInterrupt, ISystemControl systemControl, IMachineLog log)
    {
        ArgumentNullException.ThrowIfNull(keyboardInterrupt);
        ArgumentNullException.ThrowIfNull(auxiliaryInterrupt);
        ArgumentNullException.ThrowIfNull(systemControl);
        ArgumentNullException.ThrowIfNull(log);
        this.keyboardInterrupt = keyboardInterrupt;
        this.auxiliaryInterrupt = auxiliaryInterrupt;
        this.systemControl = systemControl;
        this.log = log;
        Configuration = FirmwareConfiguration;
        DataPort = new I8042PortDevice(this, isCommandPort: false);
        CommandPort = new I8042PortDevice(this, isCommandPort: true);
    }

    /// <summary>Register at <see cref="DataPortNumber"/>, one port long.</summary>
    public IBusDevice DataPort { get; }

    /// <summary>Register at <see cref="CommandPortNumber"/>, one port long.</summary>
    public IBusDevice CommandPort { get; }

    private ControllerConfiguration Configuration
    {
        get => (ControllerConfiguration)ram[0];
        set => ram[0] = (byte)value;
    }

    public int StateVersion => 1;

    /// <summary>The controller RAM, output port, output buffer and its queue, a command awaiting data, and the keyboard.</summary>
    public void SaveState(StateWriter writer)
    {
        lock (stateLock)
        {
            writer.WriteRaw(ram);
            writer.WriteByte((byte)outputPort);
            writer.WriteInt32(awaitingDataFor is { } command ? (byte)command : -1);
            writer.WriteBool(lastWriteWasCommand);
            writer.WriteByte(outputBuffer);
            writer.WriteBool(outputBufferFull);
            writer.WriteByte((byte)outputBufferStatus);
            writer.WriteBool(keyboardInterruptAsserted);
            writer.WriteBool(auxiliaryInterruptAsserted);
            writer.WriteInt32(pendingOutput.Count);
            foreach (var pending in pendingOutput)
            {
                writer.WriteByte(pending.Value);
                writer.WriteByte((byte)pending.Status);
            }

            keyboard.SaveState(writer);
        }
    }

    /// <remarks>Interrupt line levels are restored as facts, not driven: the interrupt controllers' restored state holds them.</remarks>
    public void RestoreState(StateReader reader, int version)
    {
        lock (stateLock)
        {
            reader.ReadRaw(ControllerRamSize).CopyTo(ram);
            outputPort = (ControllerOutputPort)reader.ReadByte();
            int awaiting = reader.ReadInt32();
            if (awaiting is < -1 or > byte.MaxValue)
            {
                throw reader.Malformed($"the i8042 awaits data for command {awaiting}");
            }

            awaitingDataFor = awaiting < 0 ? null : (ControllerCommand)awaiting;
            lastWriteWasCommand = reader.ReadBool();
            outputBuffer = reader.ReadByte();
            outputBufferFull = reader.ReadBool();
            outputBufferStatus = (ControllerStatus)reader.ReadByte();
            keyboardInterruptAsserted = reader.ReadBool();
            auxiliaryInterruptAsserted = reader.ReadBool();
            int count = reader.ReadInt32();
            if (count is < 0 or > PendingOutputCapacity)
            {
                throw reader.Malformed($"the i8042 holds {count} pending output bytes; it has room for {PendingOutputCapacity}");
            }

            pendingOutput.Clear();
            for (int index = 0; index < count; index++)
            {
                byte value = reader.ReadByte();
                pendingOutput.Enqueue(new PendingOutput(value, (ControllerStatus)reader.ReadByte()));
            }

            keyboard.RestoreState(reader);
        }
    }

    /// <summary>
    /// Presses and releases Ctrl-Alt-Del on the keyboard, raising IRQ 1 (Firecracker's SendCtrlAltDel). Linux passes it
    /// to init, which reboots or powers off as it is configured to. Safe from any thread.
    /// </summary>
    public void SendCtrlAltDel()
    {
        lock (stateLock)
        {
            // Our translation table covers only the bytes the keyboard's protocol sends, so with translation on (as every
            // PC firmware leaves it) the keys are queued already in set 1, the codes translation would produce.
            bool translated = (Configuration & ControllerConfiguration.Translate) != 0;
            keyboard.SendScanCodes(translated ? CtrlAltDelSet1 : CtrlAltDelSet2);
            FillOutputBuffer();
            UpdateInterruptLines();
        }
    }

    public byte ReadStatus()
    {
        lock (stateLock)
        {
            var status = ControllerStatus.KeyboardUnlocked;
            if (outputBufferFull)
            {
                status |= ControllerStatus.OutputBufferFull | outputBufferStatus;
            }

            if ((Configuration & ControllerConfiguration.SystemFlag) != 0)
            {
                status |= ControllerStatus.SystemFlag;
            }

            if (lastWriteWasCommand)
            {
                status |= ControllerStatus.CommandData;
            }

            return (byte)status;
        }
    }

    public byte ReadData()
    {
        lock (stateLock)
        {
            // An empty output buffer reads back its last byte, as on hardware (and QEMU).
            byte value = outputBuffer;
            outputBufferFull = false;
            outputBufferStatus = ControllerStatus.None;

            // Lower the line before the next byte raises it again: the IOAPIC and PIC take IRQ 1 and 12 edge-triggered,
            // so a line left high from one byte to the next would hide every byte after the first (QEMU's ps2 does the same).
            UpdateInterruptLines();
            FillOutputBuffer();
            UpdateInterruptLines();
            return value;
        }
    }

    public void WriteCommand(byte value)
    {
        lock (stateLock)
        {
            lastWriteWasCommand = true;
            awaitingDataFor = null;
            ExecuteCommand(value);
            FillOutputBuffer();
            UpdateInterruptLines();
        }
    }

    public void WriteData(byte value)
    {
        lock (stateLock)
        {
            lastWriteWasCommand = false;
            if (awaitingDataFor is { } command)
            {
                awaitingDataFor = null;
                CompleteCommand(command, value);
            }
            else
            {
                // Sending to the keyboard re-enables its clock, as the controller must release it to transmit (QEMU does the same).
                Configuration &= ~ControllerConfiguration.KeyboardDisable;
                keyboard.Receive(value);
            }

            FillOutputBuffer();
            UpdateInterruptLines();
        }
    }

    private void ExecuteCommand(byte value)
    {
        var command = (ControllerCommand)value;
        switch (command)
        {
            case >= ControllerCommand.ReadConfiguration and <= ControllerCommand.LastReadRam:
                QueueOutput(ram[value - (byte)ControllerCommand.ReadConfiguration]);
                break;
            case >= ControllerCommand.WriteConfiguration and <= ControllerCommand.LastWriteRam:
            case ControllerCommand.WriteOutputPort:
            case ControllerCommand.WriteKeyboardOutputBuffer:
            case ControllerCommand.WriteAuxiliaryOutputBuffer:
            case ControllerCommand.WriteAuxiliaryDevice:
                awaitingDataFor = command;
                break;
            case ControllerCommand.DisableAuxiliaryInterface:
                Configuration |= ControllerConfiguration.AuxiliaryDisable;
                break;
            case ControllerCommand.EnableAuxiliaryInterface:
                Configuration &= ~ControllerConfiguration.AuxiliaryDisable;
                break;
            case ControllerCommand.AuxiliaryInterfaceTest:
            case ControllerCommand.KeyboardInterfaceTest:
                QueueOutput(InterfaceTestPassed);
                break;
            case ControllerCommand.SelfTest:
                // A passing self test sets the system flag, as after POST.
                Configuration |= ControllerConfiguration.SystemFlag;
                QueueOutput(SelfTestPassed);
                break;
            case ControllerCommand.DisableKeyboardInterface:
                Configuration |= ControllerConfiguration.KeyboardDisable;
                break;
            case ControllerCommand.EnableKeyboardInterface:
                Configuration &= ~ControllerConfiguration.KeyboardDisable;
                break;
            case ControllerCommand.ReadOutputPort:
                QueueOutput((byte)ReadOutputPort());
                break;
            case ControllerCommand.DisableA20:
                outputPort &= ~ControllerOutputPort.A20Gate;
                break;
            case ControllerCommand.EnableA20:
                outputPort |= ControllerOutputPort.A20Gate;
                break;
            case >= ControllerCommand.PulseOutputPort:
                // Only bit 0 (reset) of the pulsed lines has an effect; a clear bit in the low nibble pulses that line.
                if ((value & (byte)ControllerOutputPort.SystemResetInactive) == 0)
                {
                    systemControl.RequestStop(MachineStop.Reset());
                }

                break;
            default:
                ReportUnknownCommand(value);
                break;
        }
    }

    private void CompleteCommand(ControllerCommand command, byte value)
    {
        switch (command)
        {
            case >= ControllerCommand.WriteConfiguration and <= ControllerCommand.LastWriteRam:
                ram[(byte)command - (byte)ControllerCommand.WriteConfiguration] = value;
                break;
            case ControllerCommand.WriteOutputPort:
                outputPort = (ControllerOutputPort)value;
                if ((outputPort & ControllerOutputPort.SystemResetInactive) == 0)
                {
                    systemControl.RequestStop(MachineStop.Reset());
                }

                break;
            case ControllerCommand.WriteKeyboardOutputBuffer:
                QueueOutput(value);
                break;
            case ControllerCommand.WriteAuxiliaryOutputBuffer:
                QueueOutput(value, ControllerStatus.AuxiliaryOutputBufferFull);
                break;
            case ControllerCommand.WriteAuxiliaryDevice:
                // Nothing is attached to the auxiliary port, so the transfer times out.
                QueueOutput(NoDeviceResponse, ControllerStatus.AuxiliaryOutputBufferFull | ControllerStatus.Timeout);
                break;
        }
    }

    private ControllerOutputPort ReadOutputPort()
    {
        var value = outputPort & ~(ControllerOutputPort.KeyboardOutputBufferFull | ControllerOutputPort.AuxiliaryOutputBufferFull);
        if (outputBufferFull)
        {
            value |= (outputBufferStatus & ControllerStatus.AuxiliaryOutputBufferFull) != 0
                ? ControllerOutputPort.AuxiliaryOutputBufferFull
                : ControllerOutputPort.KeyboardOutputBufferFull;
        }

        return value;
    }

    private void QueueOutput(byte value, ControllerStatus status = ControllerStatus.None)
    {
        if (pendingOutput.Count < PendingOutputCapacity)
        {
            pendingOutput.Enqueue(new PendingOutput(value, status));
        }
    }

    /// <summary>
    /// Loads the next byte into the empty output buffer: the controller's own replies first, then the keyboard's, which
    /// wait while the command byte holds the keyboard clock disabled.
    /// </summary>
    private void FillOutputBuffer()
    {
        if (outputBufferFull)
        {
            return;
        }

        if (pendingOutput.TryDequeue(out var pending))
        {
            outputBuffer = pending.Value;
            outputBufferStatus = pending.Status;
            outputBufferFull = true;
            return;
        }

        if ((Configuration & ControllerConfiguration.KeyboardDisable) == 0 && keyboard.TryTakeReply(out byte fromKeyboard))
        {
            outputBuffer = (Configuration & ControllerConfiguration.Translate) != 0
                ? ScanCodeTranslation.ToSet1(fromKeyboard)
                : fromKeyboard;
            outputBufferStatus = ControllerStatus.None;
            outputBufferFull = true;
        }
    }

    private void UpdateInterruptLines()
    {
        bool auxiliaryByte = (outputBufferStatus & ControllerStatus.AuxiliaryOutputBufferFull) != 0;
        bool keyboardLevel = outputBufferFull && !auxiliaryByte
            && (Configuration & ControllerConfiguration.KeyboardInterruptEnable) != 0;
        bool auxiliaryLevel = outputBufferFull && auxiliaryByte
            && (Configuration & ControllerConfiguration.AuxiliaryInterruptEnable) != 0;

        if (keyboardLevel != keyboardInterruptAsserted)
        {
            keyboardInterruptAsserted = keyboardLevel;
            keyboardInterrupt.SetLevel(keyboardLevel);
        }

        if (auxiliaryLevel != auxiliaryInterruptAsserted)
        {
            auxiliaryInterruptAsserted = auxiliaryLevel;
            auxiliaryInterrupt.SetLevel(auxiliaryLevel);
        }
    }

    private void ReportUnknownCommand(byte value)
    {
        // Once per command, and no faster than the limiter across commands (a guest can send all 256 in a loop).
        if (!reportedUnknownCommand[value] && unknownCommandWarnings.TryAcquire(out long heldBack))
        {
            reportedUnknownCommand[value] = true;
            log.Warn(LogRateLimiter.Summarize($"i8042: the guest sent controller command 0x{value:x2}, which is not emulated; ignored (logged once per command).", heldBack));
        }
    }
}
