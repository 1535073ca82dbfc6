using Vessel.X86.Cpu.Fpu;

namespace Vessel.X86.Cpu.Execution.Simd;

/// <summary>One lane of a floating-point SSE instruction: destination and source encodings in, result encoding out.</summary>
public interface IFloatLaneOperation
{
    static abstract ulong Lane(ulong destination, ulong source, in FloatFormat format, ref FloatEnvironment environment, byte immediate);
}
