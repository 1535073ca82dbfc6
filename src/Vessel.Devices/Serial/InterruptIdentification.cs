namespace Vessel.Devices.Serial;

/// <summary>
/// IIR bits 0-3 (16550 datasheet, offset 2 read, table "Interrupt Control Functions"): which source the UART reports,
/// highest priority first: line status, received data or character timeout, THR empty, modem status.
/// </summary>
public enum InterruptIdentification : byte
{
    /// <summary>Bit 0 set: no interrupt is pending.</summary>
    NoInterruptPending = 0x01,

    ModemStatus = 0x00,

    TransmitterHoldingRegisterEmpty = 0x02,

    ReceivedDataAvailable = 0x04,

    ReceiverLineStatus = 0x06,

    /// <summary>FIFO mode only: data sits below the trigger level and the receiver has gone idle.</summary>
    CharacterTimeout = 0x0C,
}
