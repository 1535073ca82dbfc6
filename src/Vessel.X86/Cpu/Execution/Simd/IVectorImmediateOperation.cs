using System.Runtime.Intrinsics;

namespace Vessel.X86.Cpu.Execution.Simd;

/// <summary>A bitwise-exact operation on two 128-bit values steered by an 8-bit immediate (shuffles, blends, alignment).</summary>
public interface IVectorImmediateOperation
{
    static abstract Vector128<byte> Apply(Vector128<byte> destination, Vector128<byte> source, byte immediate);
}
