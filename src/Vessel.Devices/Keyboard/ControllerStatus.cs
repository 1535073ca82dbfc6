namespace Vessel.Devices.Keyboard;

/// <summary>The i8042 status register (read at port 0x64; IBM PS/2 technical reference, "Status Register").</summary>
[Flags]
public enum ControllerStatus : byte
{
    None = 0,

    /// <summary>OBF: a byte waits at port 0x60 for the host.</summary>
    OutputBufferFull = 0x01,

    /// <summary>IBF: the controller has not yet taken the host's last byte. Always clear here: bytes are taken at once.</summary>
    InputBufferFull = 0x02,

    /// <summary>SYS: the command byte's system flag, set once the power-on self test has passed.</summary>
    SystemFlag = 0x04,

    /// <summary>A2: the host's last byte went to port 0x64 (a command) rather than 0x60 (data).</summary>
    CommandData = 0x08,

    /// <summary>The keyboard lock switch is off; Linux warns "Keylock active" when this reads clear.</summary>
    KeyboardUnlocked = 0x10,

    /// <summary>The byte in the output buffer came from the auxiliary (mouse) port.</summary>
    AuxiliaryOutputBufferFull = 0x20,

    /// <summary>The last transfer to or from a device timed out.</summary>
    Timeout = 0x40,

    ParityError = 0x80,
}
