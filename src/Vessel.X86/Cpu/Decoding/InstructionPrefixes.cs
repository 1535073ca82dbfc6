namespace Vessel.X86.Cpu.Decoding;

[Flags]
public enum InstructionPrefixes : byte
{
    None = 0,
    Lock = 1 << 0,
    Repeat = 1 << 1,
    RepeatNotEqual = 1 << 2,
}
