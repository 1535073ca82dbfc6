namespace Vessel.Devices.Keyboard;

/// <summary>Commands the host sends to a PS/2 keyboard through port 0x60 (IBM PS/2 technical reference, "Keyboard Commands").</summary>
public enum KeyboardCommand : byte
{
    /// <summary>Followed by an argument byte: bit 0 scroll lock, bit 1 num lock, bit 2 caps lock.</summary>
    SetLeds = 0xED,

    /// <summary>Answered with 0xEE itself, not an acknowledge.</summary>
    Echo = 0xEE,

    /// <summary>Followed by 0 (report the current set) or 1-3 (select that set).</summary>
    ScanCodeSet = 0xF0,

    /// <summary>Answered with acknowledge and the two ID bytes of an MF2 keyboard, 0xAB 0x83.</summary>
    Identify = 0xF2,

    /// <summary>Followed by the typematic rate and delay byte.</summary>
    SetTypematicRateAndDelay = 0xF3,

    EnableScanning = 0xF4,

    DisableScanning = 0xF5,

    SetDefaults = 0xF6,

    /// <summary>0xF7-0xFA set every key's make/break/typematic behaviour in scan code set 3; no argument.</summary>
    SetAllKeysTypematic = 0xF7,

    SetAllKeysMakeBreakTypematic = 0xFA,

    /// <summary>Asks the keyboard to send its last byte again.</summary>
    Resend = 0xFE,

    /// <summary>Answered with acknowledge, then 0xAA once the basic assurance test passes.</summary>
    Reset = 0xFF,
}
