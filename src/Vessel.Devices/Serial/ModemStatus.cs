namespace Vessel.Devices.Serial;

/// <summary>MSR (16550 datasheet, offset 6): the modem input lines (bits 4-7) and their changes since MSR was last read (bits 0-3).</summary>
[Flags]
public enum ModemStatus : byte
{
    None = 0,

    DeltaClearToSend = 0x01,

    DeltaDataSetReady = 0x02,

    /// <summary>TERI: RI went from on to off.</summary>
    TrailingEdgeRingIndicator = 0x04,

    DeltaDataCarrierDetect = 0x08,

    ClearToSend = 0x10,

    DataSetReady = 0x20,

    RingIndicator = 0x40,

    DataCarrierDetect = 0x80,

    Deltas = DeltaClearToSend | DeltaDataSetReady | TrailingEdgeRingIndicator | DeltaDataCarrierDetect,
}
