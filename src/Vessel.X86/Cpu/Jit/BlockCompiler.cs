using System.Reflection;
using System.Reflection.Emit;
using Vessel.X86.Cpu.Decoding;

namespace Vessel.X86.Cpu.Jit;

/// <summary>
/// Translates a decoded block to a <see cref="DynamicMethod"/> that RyuJIT compiles to host code (the second tier of
/// DESIGN.md's software CPU). Each instruction is written as IL by <see cref="BlockEmitter"/>: inline, or as a call to
/// its interpreter handler; the block keeps the interpreter's contract (RIP at the next instruction while an
/// instruction that may read it or fault runs, a stop after any instruction that may stop the block, the count of
/// instructions run returned), so faults, exits and the instruction counter come out the same. Flags an instruction
/// computes that a later one in the block overwrites unseen are not recorded (dead-flag elimination).
/// </summary>
public static unsafe class BlockCompiler
{
    private static readonly Type[] Parameters = [typeof(object), typeof(Cpu), typeof(CpuState*), typeof(DecodedInstruction*), typeof(ulong)];

    /// <summary>Compiles <paramref name="block"/>; the code is valid for as long as the block is (same bytes, same code width).</summary>
    public static CompiledBlockCode Compile(DecodedBlock block, out int translatedInline) => Compile(block, out translatedInline, out _);

    /// <inheritdoc cref="Compile(DecodedBlock, out int)"/>
    public static CompiledBlockCode Compile(DecodedBlock block, out int translatedInline, out int ilBytes)
    {
        var instructions = block.Instructions;
        int count = block.Count;
        var kinds = new Translation[count];
        for (int i = 0; i < count; i++)
        {
            kinds[i] = HandlerRecognizer.Classify(in instructions[i]);
        }

        bool[] flagsNeeded = FindLiveFlags(kinds, instructions);
        var method = new DynamicMethod($"block_{block.PhysicalAddress:x}_{block.CodeBits}", typeof(int), Parameters, typeof(BlockCompiler).Module, skipVisibility: true);
        var il = method.GetILGenerator(64 + (count * 64));
        var emitter = new BlockEmitter(il, block.CodeBits);
        translatedInline = 0;

        // Called without a CPU, the code returns at once: the background compiler calls it so to have RyuJIT compile it.
        var body = il.DefineLabel();
        il.Emit(OpCodes.Ldarg_1);
        il.Emit(OpCodes.Brtrue, body);
        il.Emit(OpCodes.Ldc_I4_0);
        il.Emit(OpCodes.Ret);
        il.MarkLabel(body);
        for (int i = 0; i < count; i++)
        {
            ref readonly var instruction = ref instructions[i];
            bool last = i == count - 1;
            if (kinds[i].Kind != TranslationKind.Handler)
            {
                translatedInline++;
            }

            // The block's end leaves RIP at the next instruction unless its last instruction (a jump) moves it.
            if (last)
            {
                emitter.SetNextRip(instruction.EndOffset);
            }

            emitter.Emit(in instruction, i, kinds[i], flagsNeeded[i], last);
        }

        il.Emit(OpCodes.Ldc_I4, count);
        il.Emit(OpCodes.Ret);
        emitter.EmitExits();
        ilBytes = il.ILOffset;

        // Bound to the block as its (unused) first argument: a closed delegate is called directly, where an open static
        // one goes through a shuffle thunk on every call.
        return (CompiledBlockCode)method.CreateDelegate(typeof(CompiledBlockCode), block);
    }

    /// <summary>
    /// Backward liveness of the lazy flag record: an ALU instruction must record its flags unless a later one in the
    /// block replaces the record before anything can look at it. Anything that may fault or leave the block (handlers,
    /// memory accesses, the block's end) looks, since a fault pushes RFLAGS and the next block may read them.
    /// </summary>
    private static bool[] FindLiveFlags(Translation[] kinds, DecodedInstruction[] instructions)
    {
        var needed = new bool[kinds.Length];
        bool live = true;
        for (int i = kinds.Length - 1; i >= 0; i--)
        {
            switch (kinds[i].Kind)
            {
                case TranslationKind.BinaryRegister or TranslationKind.BinaryImmediate
                    when kinds[i].Operation is AluOperation.Adc or AluOperation.Sbb:
                    // ADC and SBB read CF from the record before them.
                    needed[i] = live;
                    live = true;
                    break;
                case TranslationKind.BinaryRegister or TranslationKind.BinaryImmediate:
                    needed[i] = live;
                    live = false;
                    break;
                case TranslationKind.ShiftImmediate
                    when Execution.ShiftForms.MaskCount((byte)instructions[i].Immediate, instructions[i].OperandBits) == 0:
                    // A masked count of zero leaves the flags alone.
                    break;
                case TranslationKind.ShiftImmediate when kinds[i].OperationType?.Name is "ShiftLeft" or "ShiftRightLogical" or "ShiftRightArithmetic":
                    needed[i] = live;
                    live = false;
                    break;
                case TranslationKind.MultiplyRegister or TranslationKind.MultiplyImmediate:
                    needed[i] = live;
                    live = false;
                    break;
                case TranslationKind.MultiplyLoad or TranslationKind.MultiplyLoadImmediate:
                    // The load may fault before the record is replaced, so the record before stays live.
                    needed[i] = live;
                    live = true;
                    break;
                case TranslationKind.ShiftCount:
                    // A count of zero at run time leaves the record before in place.
                    needed[i] = live;
                    break;
                case TranslationKind.ShiftImmediate when kinds[i].OperationType?.Name is "RotateLeft" or "RotateRight":
                    // ROL and ROR replace CF and OF and keep the other flags of the record before, like INC/DEC.
                    needed[i] = live;
                    break;
                case TranslationKind.Increment or TranslationKind.Decrement:
                    // INC and DEC carry CF over from the record before them, but only when their own record is needed.
                    needed[i] = live;
                    break;
                case TranslationKind.MoveRegister or TranslationKind.MoveImmediate or TranslationKind.LoadEffectiveAddress
                    or TranslationKind.ZeroExtendRegister or TranslationKind.SignExtendRegister or TranslationKind.JumpRelative:
                    break;
                default:
                    live = true;
                    break;
            }
        }

        return needed;
    }
}
