using Vessel.X86.Cpu.Decoding;

namespace Vessel.X86.Cpu.Execution;

/// <summary>Every instruction family's registration, in one list the handler table is built from.</summary>
public static class InstructionFamilies
{
    public static readonly Action<HandlerTable>[] All =
    [
        Arithmetic.Register,
        DataTransfer.Register,
        StackOperations.Register,
        ControlFlow.Register,
        FlagControl.Register,
        InputOutput.Register,
        Miscellaneous.Register,
        ControlRegisters.Register,
        DescriptorTables.Register,
        SegmentLoads.Register,
        FarTransfers.Register,
        InterruptReturn.Register,
        SystemCalls.Register,
        Hypercalls.Register,
        ModelSpecificRegisters.Register,
        Shifts.Register,
        Rotates.Register,
        MultiplyDivide.Register,
        BitOperations.Register,
        Strings.Register,
        Exchange.Register,
        DecimalArithmetic.Register,
        Simd.PackedInteger.Register,
        Simd.SimdDataTransfer.Register,
        Simd.SimdFloatingPoint.Register,
        Simd.SimdConversion.Register,
        Simd.SimdStateManagement.Register,
        Simd.PackedIntegerExtensions.Register,
        Simd.SimdFloatingPointExtensions.Register,
        Simd.StringCompare.Register,
        X87.X87Arithmetic.Register,
        X87.X87DataTransfer.Register,
        X87.X87Comparison.Register,
        X87.X87Transcendental.Register,
        X87.X87Control.Register,
    ];
}
