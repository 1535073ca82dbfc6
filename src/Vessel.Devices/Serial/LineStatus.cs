namespace Vessel.Devices.Serial;

/// <summary>LSR (16550 datasheet, offset 5).</summary>
[Flags]
public enum LineStatus : byte
{
    None = 0,

    /// <summary>DR: at least one byte waits in RBR or the receive FIFO.</summary>
    DataReady = 0x01,

    /// <summary>OE: a byte arrived with no room for it and was lost; cleared by reading LSR.</summary>
    OverrunError = 0x02,

    ParityError = 0x04,

    FramingError = 0x08,

    BreakInterrupt = 0x10,

    /// <summary>THRE: the transmitter holding register (or transmit FIFO) is empty.</summary>
    TransmitterHoldingRegisterEmpty = 0x20,

    /// <summary>TEMT: THR and the transmit shift register are both empty.</summary>
    TransmitterEmpty = 0x40,

    /// <summary>Error in the receive FIFO (a byte with parity, framing or break error is queued).</summary>
    ReceiverFifoError = 0x80,

    /// <summary>The conditions that raise the receiver line status interrupt.</summary>
    Errors = OverrunError | ParityError | FramingError | BreakInterrupt,
}
