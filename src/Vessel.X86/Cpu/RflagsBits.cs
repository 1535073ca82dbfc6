namespace Vessel.X86.Cpu;

/// <summary>RFLAGS bits (Intel SDM 1 §3.4.3).</summary>
[Flags]
public enum RflagsBits : ulong
{
    None = 0,
    Carry = 1 << 0,
    Reserved1 = 1 << 1,
    Parity = 1 << 2,
    Adjust = 1 << 4,
    Zero = 1 << 6,
    Sign = 1 << 7,
    Trap = 1 << 8,
    InterruptEnable = 1 << 9,
    Direction = 1 << 10,
    Overflow = 1 << 11,
    IoPrivilegeLevel = 3 << 12,
    NestedTask = 1 << 14,
    Resume = 1 << 16,
    Virtual8086 = 1 << 17,
    AlignmentCheck = 1 << 18,
    VirtualInterrupt = 1 << 19,
    VirtualInterruptPending = 1 << 20,
    Identification = 1 << 21,

    Arithmetic = Carry | Parity | Adjust | Zero | Sign | Overflow,
}
