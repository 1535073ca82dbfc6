using System.Runtime.CompilerServices;

namespace Vessel.X86.Cpu.Execution;

/// <summary>An operand width known at compile time, so generic handlers fold their size switches away.</summary>
public interface IWidth
{
    static abstract int Bits { get; }
}

public struct Width8 : IWidth
{
    public static int Bits => 8;
}

public struct Width16 : IWidth
{
    public static int Bits => 16;
}

public struct Width32 : IWidth
{
    public static int Bits => 32;
}

public struct Width64 : IWidth
{
    public static int Bits => 64;
}

public static class WidthMath
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Mask(int bits) => bits == 64 ? ulong.MaxValue : (1UL << bits) - 1;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong SignExtend(ulong value, int bits) => bits == 64 ? value : (ulong)(((long)value << (64 - bits)) >> (64 - bits));
}
