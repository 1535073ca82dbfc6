using System.Runtime.Intrinsics;

namespace Vessel.X86.Cpu.Execution.Simd;

/// <summary>A bitwise-exact operation on two 128-bit values (packed integer, logic, shuffles).</summary>
public interface IVectorOperation
{
    static abstract Vector128<byte> Apply(Vector128<byte> destination, Vector128<byte> source);
}
