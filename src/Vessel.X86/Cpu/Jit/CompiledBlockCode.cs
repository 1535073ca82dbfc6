using Vessel.X86.Cpu.Decoding;

namespace Vessel.X86.Cpu.Jit;

/// <summary>
/// A decoded block compiled to host code. It runs the block's instructions from the first, exactly as the interpreter
/// would, and returns how many it ran: all of them, or fewer when one stopped the block (the last one run may have
/// faulted, which the caller delivers as the interpreter does).
/// </summary>
/// <param name="cpu">The CPU the block runs on.</param>
/// <param name="state">That CPU's <see cref="Cpu.State"/>.</param>
/// <param name="first">The block's decoded instructions, pinned by the caller (handlers the code calls read them).</param>
/// <param name="rip">The RIP of the block's first instruction (a block is keyed by physical address, so it may run at several).</param>
public unsafe delegate int CompiledBlockCode(Cpu cpu, CpuState* state, DecodedInstruction* first, ulong rip);
