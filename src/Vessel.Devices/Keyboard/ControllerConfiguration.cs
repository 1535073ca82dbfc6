namespace Vessel.Devices.Keyboard;

/// <summary>The i8042 command byte (controller RAM byte 0, read with 0x20, written with 0x60); Linux calls it the CTR.</summary>
[Flags]
public enum ControllerConfiguration : byte
{
    None = 0,

    /// <summary>Raise IRQ 1 when the output buffer holds a keyboard byte.</summary>
    KeyboardInterruptEnable = 0x01,

    /// <summary>Raise IRQ 12 when the output buffer holds an auxiliary byte.</summary>
    AuxiliaryInterruptEnable = 0x02,

    /// <summary>Reflected as <see cref="ControllerStatus.SystemFlag"/>; firmware sets it after POST.</summary>
    SystemFlag = 0x04,

    IgnoreKeyboardLock = 0x08,

    /// <summary>Holds the keyboard clock low: the keyboard's bytes wait until it is cleared.</summary>
    KeyboardDisable = 0x10,

    /// <summary>Holds the auxiliary clock low.</summary>
    AuxiliaryDisable = 0x20,

    /// <summary>Translate the keyboard's scan code set 2 into set 1, as the PC/AT did.</summary>
    Translate = 0x40,
}
