namespace Vessel.Devices.Keyboard;

/// <summary>The i8042 output port (read with 0xD0, written with 0xD1): lines the controller drives on the motherboard.</summary>
[Flags]
public enum ControllerOutputPort : byte
{
    None = 0,

    /// <summary>Active low: writing 0 here resets the CPU, the classic way to reboot a PC.</summary>
    SystemResetInactive = 0x01,

    /// <summary>The A20 gate. Recorded for read-back only: like QEMU under KVM, guest memory is never A20-masked.</summary>
    A20Gate = 0x02,

    AuxiliaryClock = 0x04,

    AuxiliaryData = 0x08,

    /// <summary>Mirrors OBF with a keyboard byte (the IRQ 1 source).</summary>
    KeyboardOutputBufferFull = 0x10,

    /// <summary>Mirrors OBF with an auxiliary byte (the IRQ 12 source).</summary>
    AuxiliaryOutputBufferFull = 0x20,

    KeyboardClock = 0x40,

    KeyboardData = 0x80,

    /// <summary>Idle clock and data lines read high; with reset inactive and A20 on this is QEMU's power-on value.</summary>
    PowerOnDefault = SystemResetInactive | A20Gate | AuxiliaryClock | AuxiliaryData | KeyboardClock | KeyboardData,
}
