namespace Vessel.Devices.Serial;

/// <summary>FCR (16550 datasheet, offset 2 write).</summary>
[Flags]
public enum FifoControl : byte
{
    None = 0,

    /// <summary>FCR0: enables both FIFOs; changing it clears them. The other bits are only programmed while it is set.</summary>
    FifoEnable = 0x01,

    /// <summary>FCR1: clears the receive FIFO (self-clearing).</summary>
    ClearReceiveFifo = 0x02,

    /// <summary>FCR2: clears the transmit FIFO (self-clearing).</summary>
    ClearTransmitFifo = 0x04,

    /// <summary>FCR3: RXRDY/TXRDY pin mode; no effect on the register interface.</summary>
    DmaModeSelect = 0x08,

    /// <summary>FCR6-7: receive trigger level 1, 4, 8 or 14 bytes.</summary>
    ReceiveTriggerMask = 0xC0,
}
