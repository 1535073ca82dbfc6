namespace Vessel.Devices.Serial;

/// <summary>MCR (16550 datasheet, offset 4). Bits 5-7 are always zero.</summary>
[Flags]
public enum ModemControl : byte
{
    None = 0,

    DataTerminalReady = 0x01,

    RequestToSend = 0x02,

    Out1 = 0x04,

    /// <summary>On PCs OUT2 enables the UART's interrupt output onto the ISA bus; Linux's 8250 driver sets it to get interrupts.</summary>
    Out2 = 0x08,

    /// <summary>Diagnostic loopback: transmitted bytes come back to the receiver and MCR bits 0-3 drive the MSR inputs.</summary>
    Loopback = 0x10,

    All = DataTerminalReady | RequestToSend | Out1 | Out2 | Loopback,
}
