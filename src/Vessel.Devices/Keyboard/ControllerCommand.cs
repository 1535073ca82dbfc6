namespace Vessel.Devices.Keyboard;

/// <summary>Commands the host writes to port 0x64 (IBM PS/2 technical reference, "Keyboard/Auxiliary Device Controller").</summary>
public enum ControllerCommand : byte
{
    /// <summary>0x20-0x3F read controller RAM byte (command - 0x20); byte 0 is the command byte.</summary>
    ReadConfiguration = 0x20,

    LastReadRam = 0x3F,

    /// <summary>0x60-0x7F write the next data byte to controller RAM byte (command - 0x60).</summary>
    WriteConfiguration = 0x60,

    LastWriteRam = 0x7F,

    DisableAuxiliaryInterface = 0xA7,

    EnableAuxiliaryInterface = 0xA8,

    /// <summary>Answers 0x00 when the auxiliary clock and data lines are sound.</summary>
    AuxiliaryInterfaceTest = 0xA9,

    /// <summary>Answers 0x55 when the controller passes.</summary>
    SelfTest = 0xAA,

    /// <summary>Answers 0x00 when the keyboard clock and data lines are sound.</summary>
    KeyboardInterfaceTest = 0xAB,

    DisableKeyboardInterface = 0xAD,

    EnableKeyboardInterface = 0xAE,

    ReadOutputPort = 0xD0,

    WriteOutputPort = 0xD1,

    /// <summary>The next data byte appears in the output buffer as if the keyboard had sent it.</summary>
    WriteKeyboardOutputBuffer = 0xD2,

    /// <summary>The next data byte appears in the output buffer as if the auxiliary device had sent it (Linux's AUX_LOOP).</summary>
    WriteAuxiliaryOutputBuffer = 0xD3,

    /// <summary>The next data byte goes to the auxiliary device (Linux's AUX_SEND).</summary>
    WriteAuxiliaryDevice = 0xD4,

    DisableA20 = 0xDD,

    EnableA20 = 0xDF,

    /// <summary>0xF0-0xFF pulse the output port lines whose bits are clear in the low nibble; 0xFE pulses reset.</summary>
    PulseOutputPort = 0xF0,

    PulseResetLine = 0xFE,
}
