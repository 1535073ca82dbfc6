using Vessel.X86.Cpu.Decoding;

namespace Vessel.X86.Cpu.Jit;

/// <summary>
/// A compiled region (<see cref="CompiledRegion"/>). It runs the entry block's instructions from the first, exactly as
/// the interpreter would, going on into other members while nothing stops it, and returns the position (1-based, in
/// the region's instruction array) of the last instruction it ran, having stored how many it ran in all in the CPU's
/// <c>compiledRetired</c>. That last instruction may have faulted, which the caller delivers as the interpreter does.
/// </summary>
/// <param name="cpu">The CPU the code runs on.</param>
/// <param name="state">That CPU's <see cref="Cpu.State"/>.</param>
/// <param name="first">The region's instructions (<see cref="CompiledRegion.First"/>; handlers the code calls read them).</param>
/// <param name="rip">The region's base: the entry block's RIP less <see cref="CompiledRegion.EntryOffset"/> (a block is
/// keyed by physical address, so the same code may run at several RIPs).</param>
public unsafe delegate int CompiledBlockCode(Cpu cpu, CpuState* state, DecodedInstruction* first, ulong rip);
