namespace Vessel.Devices.Serial;

/// <summary>LCR (16550 datasheet, offset 3). Framing bits are kept for the guest to read back; bytes move instantly.</summary>
[Flags]
public enum LineControl : byte
{
    None = 0,

    /// <summary>WLS0-1: 5 to 8 data bits.</summary>
    WordLengthMask = 0x03,

    StopBits = 0x04,

    ParityEnable = 0x08,

    EvenParitySelect = 0x10,

    StickParity = 0x20,

    SetBreak = 0x40,

    /// <summary>DLAB: offsets 0 and 1 address the divisor latch (DLL, DLM) instead of RBR/THR and IER.</summary>
    DivisorLatchAccess = 0x80,
}
