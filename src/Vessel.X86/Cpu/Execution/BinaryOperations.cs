using System.Runtime.CompilerServices;

namespace Vessel.X86.Cpu.Execution;

/// <summary>A two-operand ALU operation: computes the result and records the lazy flags.</summary>
public interface IBinaryOperation
{
    /// <summary>False for CMP and TEST, which only set flags.</summary>
    static abstract bool WritesResult { get; }

    static abstract ulong Execute(Cpu cpu, ulong destination, ulong source, int bits);
}

public struct AddOperation : IBinaryOperation
{
    public static bool WritesResult => true;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Execute(Cpu cpu, ulong destination, ulong source, int bits)
    {
        ulong result = destination + source;
        cpu.SetLazyFlags(FlagOperation.Add, bits, destination, source, result);
        return result;
    }
}

public struct OrOperation : IBinaryOperation
{
    public static bool WritesResult => true;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Execute(Cpu cpu, ulong destination, ulong source, int bits)
    {
        ulong result = destination | source;
        cpu.SetLazyFlags(FlagOperation.Logic, bits, destination, source, result);
        return result;
    }
}

public struct AdcOperation : IBinaryOperation
{
    public static bool WritesResult => true;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Execute(Cpu cpu, ulong destination, ulong source, int bits)
    {
        bool carry = cpu.CarryFlag;
        ulong result = destination + source + (carry ? 1UL : 0UL);
        cpu.SetCarryIn(carry);
        cpu.SetLazyFlags(FlagOperation.Adc, bits, destination, source, result);
        return result;
    }
}

public struct SbbOperation : IBinaryOperation
{
    public static bool WritesResult => true;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Execute(Cpu cpu, ulong destination, ulong source, int bits)
    {
        bool carry = cpu.CarryFlag;
        ulong result = destination - source - (carry ? 1UL : 0UL);
        cpu.SetCarryIn(carry);
        cpu.SetLazyFlags(FlagOperation.Sbb, bits, destination, source, result);
        return result;
    }
}

public struct AndOperation : IBinaryOperation
{
    public static bool WritesResult => true;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Execute(Cpu cpu, ulong destination, ulong source, int bits)
    {
        ulong result = destination & source;
        cpu.SetLazyFlags(FlagOperation.Logic, bits, destination, source, result);
        return result;
    }
}

public struct SubOperation : IBinaryOperation
{
    public static bool WritesResult => true;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Execute(Cpu cpu, ulong destination, ulong source, int bits)
    {
        ulong result = destination - source;
        cpu.SetLazyFlags(FlagOperation.Sub, bits, destination, source, result);
        return result;
    }
}

public struct XorOperation : IBinaryOperation
{
    public static bool WritesResult => true;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Execute(Cpu cpu, ulong destination, ulong source, int bits)
    {
        ulong result = destination ^ source;
        cpu.SetLazyFlags(FlagOperation.Logic, bits, destination, source, result);
        return result;
    }
}

public struct CmpOperation : IBinaryOperation
{
    public static bool WritesResult => false;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Execute(Cpu cpu, ulong destination, ulong source, int bits)
    {
        ulong result = destination - source;
        cpu.SetLazyFlags(FlagOperation.Sub, bits, destination, source, result);
        return result;
    }
}

public struct TestOperation : IBinaryOperation
{
    public static bool WritesResult => false;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Execute(Cpu cpu, ulong destination, ulong source, int bits)
    {
        ulong result = destination & source;
        cpu.SetLazyFlags(FlagOperation.Logic, bits, destination, source, result);
        return result;
    }
}
