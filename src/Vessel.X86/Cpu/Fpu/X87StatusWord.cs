namespace Vessel.X86.Cpu.Fpu;

/// <summary>FSW fields (Intel SDM 1 §8.1.3, Figure 8-4). The exception flags share <see cref="FloatExceptions"/>' bits.</summary>
public static class X87StatusWord
{
    public const ushort ExceptionFlags = 0x3F;
    public const ushort StackFault = 1 << 6;
    public const ushort ErrorSummary = 1 << 7;
    public const ushort C0 = 1 << 8;
    public const ushort C1 = 1 << 9;
    public const ushort C2 = 1 << 10;
    public const int TopShift = 11;
    public const ushort TopMask = 7 << TopShift;
    public const ushort C3 = 1 << 14;
    public const ushort Busy = 1 << 15;
    public const ushort ConditionCodes = C0 | C1 | C2 | C3;
}
