namespace Vessel.Devices.Serial;

/// <summary>IER (16550 datasheet, offset 1 with DLAB = 0). Bits 4-7 are always zero on a 16550A.</summary>
[Flags]
public enum InterruptEnable : byte
{
    None = 0,

    /// <summary>ERBFI: received data available (and, with FIFOs, the character timeout).</summary>
    ReceivedDataAvailable = 0x01,

    /// <summary>ETBEI: transmitter holding register empty.</summary>
    TransmitterHoldingRegisterEmpty = 0x02,

    /// <summary>ELSI: receiver line status (overrun, parity, framing, break).</summary>
    ReceiverLineStatus = 0x04,

    /// <summary>EDSSI: modem status (a delta bit in MSR).</summary>
    ModemStatus = 0x08,

    All = ReceivedDataAvailable | TransmitterHoldingRegisterEmpty | ReceiverLineStatus | ModemStatus,
}
