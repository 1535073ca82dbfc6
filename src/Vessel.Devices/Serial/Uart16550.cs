using Vessel.Core.Bus;
using Vessel.Core.Interrupts;
using Vessel.Core.Snapshots;

namespace Vessel.Devices.Serial;

/// <summary>
/// A 16550A UART (National Semiconductor PC16550D datasheet) over 8 I/O ports. Bytes move instantly: a write to THR
/// reaches the output at once, so THR and the transmitter are always empty, and host input lands in the receive FIFO
/// (16 bytes with FIFOs on, 1 byte without) as fast as the guest drains it. Input that does not fit waits in a bounded
/// host-side backlog rather than being lost, so a paste into the console arrives whole.
/// Register access comes from vCPU threads and input from a host reader thread; one lock serialises them.
/// </summary>
public sealed class Uart16550 : IBusDevice, IStateful
{
    public const int RegisterCount = 8;

    public const int FifoCapacity = 16;

    public const int InputBacklogCapacity = 64 * 1024;

    // Register offsets (datasheet table "Register Addresses"). With DLAB set, offsets 0 and 1 are DLL and DLM.
    private const int ReceiverBufferOffset = 0;
    private const int InterruptEnableOffset = 1;
    private const int InterruptIdentificationOffset = 2;
    private const int LineControlOffset = 3;
    private const int ModemControlOffset = 4;
    private const int LineStatusOffset = 5;
    private const int ModemStatusOffset = 6;
    private const int ScratchOffset = 7;

    /// <summary>IIR bits 6-7 read as ones while FCR0 is set; Linux's 8250 probe reads them to tell a 16550A from a 16450.</summary>
    private const byte InterruptIdentificationFifosEnabled = 0xC0;

    /// <summary>115200 / 9600: a divisor of 12 gives 9600 baud from the PC's 1.8432 MHz clock, the usual firmware default.</summary>
    private const ushort DefaultDivisor = 12;

    /// <summary>
    /// Outside loopback the modem inputs show a connected peer (CTS, DSR, DCD on, RI off), as QEMU's and Firecracker's
    /// UARTs do, so guests that honour hardware flow control or carrier detect still transmit.
    /// </summary>
    private const ModemStatus ConnectedPeerLines = ModemStatus.ClearToSend | ModemStatus.DataSetReady | ModemStatus.DataCarrierDetect;

    private readonly object stateLock = new();
    private readonly IInterruptLine interrupt;
    private readonly ISerialOutput output;
    private readonly ByteRing receiveFifo = new(FifoCapacity);
    private readonly ByteRing inputBacklog = new(InputBacklogCapacity);

    private InterruptEnable interruptEnable;
    private FifoControl fifoControl;
    private LineControl lineControl;
    private ModemControl modemControl;
    private LineStatus pendingLineErrors;
    private ModemStatus modemStatusDeltas;
    private ushort divisor = DefaultDivisor;
    private byte scratch;
    private bool transmitterEmptyInterruptPending;
    private bool interruptAsserted;

    public Uart16550(IInterruptLine interrupt, ISerialOutput output)
    {
        ArgumentNullException.ThrowIfNull(interrupt);
        ArgumentNullException.ThrowIfNull(output);
        this.interrupt = interrupt;
        this.output = output;
    }

    private bool FifosEnabled => (fifoControl & FifoControl.FifoEnable) != 0;

    private bool InLoopback => (modemControl & ModemControl.Loopback) != 0;

    private bool DivisorLatchSelected => (lineControl & LineControl.DivisorLatchAccess) != 0;

    private int ReceiveCapacity => FifosEnabled ? FifoCapacity : 1;

    /// <summary>Datasheet table "FIFO Control Register", FCR6-7: 00 = 1 byte, 01 = 4, 10 = 8, 11 = 14.</summary>
    private int ReceiveTriggerLevel => !FifosEnabled ? 1 : ((int)(fifoControl & FifoControl.ReceiveTriggerMask) >> 6) switch
    {
        0 => 1,
        1 => 4,
        2 => 8,
        _ => 14,
    };

    public void Read(ulong offset, Span<byte> data)
    {
        lock (stateLock)
        {
            // A wider access to an 8-bit ISA device is split into byte accesses at consecutive ports.
            for (int i = 0; i < data.Length; i++)
            {
                ulong register = offset + (ulong)i;
                data[i] = register < RegisterCount ? ReadRegister((int)register) : byte.MaxValue;
            }

            UpdateInterruptLine();
        }
    }

    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        lock (stateLock)
        {
            for (int i = 0; i < data.Length; i++)
            {
                ulong register = offset + (ulong)i;
                if (register < RegisterCount)
                {
                    WriteRegister((int)register, data[i]);
                }
            }

            UpdateInterruptLine();
        }
    }

    /// <summary>
    /// Bytes typed or piped on the host. They enter the receive FIFO as far as it has room; the rest wait in the backlog
    /// and follow as the guest reads RBR. Past <see cref="InputBacklogCapacity"/> waiting bytes the excess is dropped and
    /// the guest sees an overrun (LSR.OE), as it would on a real line. Safe to call from any thread.
    /// </summary>
    public void EnqueueInput(ReadOnlySpan<byte> bytes)
    {
        lock (stateLock)
        {
            foreach (byte value in bytes)
            {
                if (!inputBacklog.TryEnqueue(value))
                {
                    pendingLineErrors |= LineStatus.OverrunError;
                    break;
                }
            }

            RefillReceiveFifo();
            UpdateInterruptLine();
        }
    }

    public int StateVersion => 1;

    /// <summary>Every register, both FIFOs' contents and the level the device last drove on its interrupt line.</summary>
    public void SaveState(StateWriter writer)
    {
        lock (stateLock)
        {
            writer.WriteByte((byte)interruptEnable);
            writer.WriteByte((byte)fifoControl);
            writer.WriteByte((byte)lineControl);
            writer.WriteByte((byte)modemControl);
            writer.WriteByte((byte)pendingLineErrors);
            writer.WriteByte((byte)modemStatusDeltas);
            writer.WriteUInt16(divisor);
            writer.WriteByte(scratch);
            writer.WriteBool(transmitterEmptyInterruptPending);
            writer.WriteBool(interruptAsserted);
            receiveFifo.SaveState(writer);
            inputBacklog.SaveState(writer);
        }
    }

    /// <remarks>
    /// The line level is restored as a fact, not driven: the interrupt controllers' own restored state already holds it.
    /// </remarks>
    public void RestoreState(StateReader reader, int version)
    {
        lock (stateLock)
        {
            interruptEnable = (InterruptEnable)reader.ReadByte() & InterruptEnable.All;
            fifoControl = (FifoControl)reader.ReadByte() & (FifoControl.FifoEnable | FifoControl.DmaModeSelect | FifoControl.ReceiveTriggerMask);
            lineControl = (LineControl)reader.ReadByte();
            modemControl = (ModemControl)reader.ReadByte() & ModemControl.All;
            pendingLineErrors = (LineStatus)reader.ReadByte();
            modemStatusDeltas = (ModemStatus)reader.ReadByte();
            divisor = reader.ReadUInt16();
            scratch = reader.ReadByte();
            transmitterEmptyInterruptPending = reader.ReadBool();
            interruptAsserted = reader.ReadBool();
            receiveFifo.RestoreState(reader, "the receive FIFO");
            if (receiveFifo.Count > ReceiveCapacity)
            {
                throw reader.Malformed($"the receive FIFO holds {receiveFifo.Count} bytes with FIFOs {(FifosEnabled ? "enabled" : "disabled")}");
            }

            inputBacklog.RestoreState(reader, "the input backlog");
        }
    }

    private byte ReadRegister(int register)
    {
        switch (register)
        {
            case ReceiverBufferOffset:
                return DivisorLatchSelected ? (byte)divisor : ReadReceiverBuffer();
            case InterruptEnableOffset:
                return DivisorLatchSelected ? (byte)(divisor >> 8) : (byte)interruptEnable;
            case InterruptIdentificationOffset:
                return ReadInterruptIdentification();
            case LineControlOffset:
                return (byte)lineControl;
            case ModemControlOffset:
                return (byte)modemControl;
            case LineStatusOffset:
                return ReadLineStatus();
            case ModemStatusOffset:
                return ReadModemStatus();
            default:
                return scratch;
        }
    }

    private void WriteRegister(int register, byte value)
    {
        switch (register)
        {
            case ReceiverBufferOffset:
                if (DivisorLatchSelected)
                {
                    divisor = (ushort)((divisor & 0xFF00) | value);
                }
                else
                {
                    Transmit(value);
                }

                break;
            case InterruptEnableOffset:
                if (DivisorLatchSelected)
                {
                    divisor = (ushort)((divisor & 0x00FF) | (value << 8));
                }
                else
                {
                    WriteInterruptEnable((InterruptEnable)value & InterruptEnable.All);
                }

                break;
            case InterruptIdentificationOffset:
                WriteFifoControl((FifoControl)value);
                break;
            case LineControlOffset:
                lineControl = (LineControl)value;
                break;
            case ModemControlOffset:
                WriteModemControl((ModemControl)value & ModemControl.All);
                break;
            case LineStatusOffset:
            case ModemStatusOffset:
                // Datasheet: LSR and MSR writes are for factory test only; a guest's write changes nothing.
                break;
            default:
                scratch = value;
                break;
        }
    }

    private byte ReadReceiverBuffer()
    {
        if (!receiveFifo.TryDequeue(out byte value))
        {
            return 0;
        }

        RefillReceiveFifo();
        return value;
    }

    private byte ReadInterruptIdentification()
    {
        var source = HighestPriorityInterrupt();

        // Datasheet table "Interrupt Control Functions": reading IIR while it reports THR empty clears that interrupt.
        if (source == InterruptIdentification.TransmitterHoldingRegisterEmpty)
        {
            transmitterEmptyInterruptPending = false;
        }

        return (byte)((byte)source | (FifosEnabled ? InterruptIdentificationFifosEnabled : 0));
    }

    private byte ReadLineStatus()
    {
        // Bytes leave instantly, so THR and the transmit shift register are always empty.
        var status = pendingLineErrors | LineStatus.TransmitterHoldingRegisterEmpty | LineStatus.TransmitterEmpty;
        if (receiveFifo.Count > 0)
        {
            status |= LineStatus.DataReady;
        }

        // Datasheet: the error bits (and the line status interrupt) clear when the CPU reads LSR.
        pendingLineErrors = LineStatus.None;
        return (byte)status;
    }

    private byte ReadModemStatus()
    {
        var status = ModemInputLines() | modemStatusDeltas;
        modemStatusDeltas = ModemStatus.None;
        return (byte)status;
    }

    private void Transmit(byte value)
    {
        transmitterEmptyInterruptPending = false;
        if (InLoopback)
        {
            // Datasheet, MCR4: in loopback the transmitter output feeds the receiver and the serial output stays idle.
            ReceiveFromLoopback(value);
        }
        else
        {
            output.Write(new ReadOnlySpan<byte>(in value));
        }

        // The byte has gone, so THR is empty again at once and THRE interrupts as the THR empties on hardware.
        transmitterEmptyInterruptPending = true;
    }

    private void ReceiveFromLoopback(byte value)
    {
        // Datasheet, LSR1: when the FIFO is full the arriving character is lost, not the FIFO's contents.
        if (receiveFifo.Count >= ReceiveCapacity || !receiveFifo.TryEnqueue(value))
        {
            pendingLineErrors |= LineStatus.OverrunError;
        }
    }

    private void WriteInterruptEnable(InterruptEnable value)
    {
        var changed = interruptEnable ^ value;
        interruptEnable = value;

        // Enabling ETBEI while THR is empty raises the THRE interrupt even if an IIR read had cleared it; Linux's
        // 8250 startup test (UART_BUG_THRE) and Windows rely on this, and QEMU resamples on the same rising edge.
        if ((changed & InterruptEnable.TransmitterHoldingRegisterEmpty) != 0)
        {
            transmitterEmptyInterruptPending = (value & InterruptEnable.TransmitterHoldingRegisterEmpty) != 0;
        }
    }

    private void WriteFifoControl(FifoControl value)
    {
        bool enable = (value & FifoControl.FifoEnable) != 0;

        // Datasheet, FCR0: changing the FIFO enable bit clears both FIFOs; the other bits are only programmed with it set.
        if (enable != FifosEnabled)
        {
            receiveFifo.Clear();
        }

        if (!enable)
        {
            fifoControl = FifoControl.None;
        }
        else
        {
            fifoControl = value & (FifoControl.FifoEnable | FifoControl.DmaModeSelect | FifoControl.ReceiveTriggerMask);
            if ((value & FifoControl.ClearReceiveFifo) != 0)
            {
                receiveFifo.Clear();
            }
        }

        // The transmit FIFO is always empty (bytes leave at once), so FCR2 has nothing to clear.
        RefillReceiveFifo();
    }

    private void WriteModemControl(ModemControl value)
    {
        var linesBefore = ModemInputLines();
        modemControl = value;
        var linesAfter = ModemInputLines();

        var changed = linesBefore ^ linesAfter;
        if ((changed & ModemStatus.ClearToSend) != 0)
        {
            modemStatusDeltas |= ModemStatus.DeltaClearToSend;
        }

        if ((changed & ModemStatus.DataSetReady) != 0)
        {
            modemStatusDeltas |= ModemStatus.DeltaDataSetReady;
        }

        if ((linesBefore & ~linesAfter & ModemStatus.RingIndicator) != 0)
        {
            modemStatusDeltas |= ModemStatus.TrailingEdgeRingIndicator;
        }

        if ((changed & ModemStatus.DataCarrierDetect) != 0)
        {
            modemStatusDeltas |= ModemStatus.DeltaDataCarrierDetect;
        }

        // Host input waits while loopback disconnects the serial input; it resumes when loopback ends.
        RefillReceiveFifo();
    }

    /// <summary>Datasheet, MCR4: in loopback, DTR drives DSR, RTS drives CTS, OUT1 drives RI and OUT2 drives DCD.</summary>
    private ModemStatus ModemInputLines()
    {
        if (!InLoopback)
        {
            return ConnectedPeerLines;
        }

        var lines = ModemStatus.None;
        if ((modemControl & ModemControl.RequestToSend) != 0)
        {
            lines |= ModemStatus.ClearToSend;
        }

        if ((modemControl & ModemControl.DataTerminalReady) != 0)
        {
            lines |= ModemStatus.DataSetReady;
        }

        if ((modemControl & ModemControl.Out1) != 0)
        {
            lines |= ModemStatus.RingIndicator;
        }

        if ((modemControl & ModemControl.Out2) != 0)
        {
            lines |= ModemStatus.DataCarrierDetect;
        }

        return lines;
    }

    private void RefillReceiveFifo()
    {
        if (InLoopback)
        {
            return;
        }

        while (receiveFifo.Count < ReceiveCapacity && inputBacklog.TryDequeue(out byte value))
        {
            receiveFifo.TryEnqueue(value);
        }
    }

    private InterruptIdentification HighestPriorityInterrupt()
    {
        if ((interruptEnable & InterruptEnable.ReceiverLineStatus) != 0 && (pendingLineErrors & LineStatus.Errors) != 0)
        {
            return InterruptIdentification.ReceiverLineStatus;
        }

        if ((interruptEnable & InterruptEnable.ReceivedDataAvailable) != 0 && receiveFifo.Count > 0)
        {
            // Below the trigger level the 16550 reports a character timeout once the line has been idle for four
            // character times. Input arrives here in whole host reads, so the line is idle as soon as a read is queued.
            return receiveFifo.Count >= ReceiveTriggerLevel
                ? InterruptIdentification.ReceivedDataAvailable
                : InterruptIdentification.CharacterTimeout;
        }

        if ((interruptEnable & InterruptEnable.TransmitterHoldingRegisterEmpty) != 0 && transmitterEmptyInterruptPending)
        {
            return InterruptIdentification.TransmitterHoldingRegisterEmpty;
        }

        if ((interruptEnable & InterruptEnable.ModemStatus) != 0 && modemStatusDeltas != ModemStatus.None)
        {
            return InterruptIdentification.ModemStatus;
        }

        return InterruptIdentification.NoInterruptPending;
    }

    private void UpdateInterruptLine()
    {
        // On PCs the UART's INTR pin reaches the ISA bus through a buffer enabled by OUT2, so a pending interrupt stays
        // invisible until the driver sets MCR.OUT2 (Linux's 8250 driver does so in serial8250_do_startup).
        bool asserted = HighestPriorityInterrupt() != InterruptIdentification.NoInterruptPending
            && (modemControl & ModemControl.Out2) != 0;
        if (asserted != interruptAsserted)
        {
            interruptAsserted = asserted;
            interrupt.SetLevel(asserted);
        }
    }
}
