using System.Reflection;
using System.Reflection.Emit;
using Vessel.X86.Cpu.Decoding;

namespace Vessel.X86.Cpu.Jit;

/// <summary>
/// Translates a decoded block to a <see cref="DynamicMethod"/> that RyuJIT compiles to host code (the second tier of
/// DESIGN.md's software CPU). Every instruction is either emitted as a call to a <see cref="CompiledOperations"/>
/// method with its decoded fields as constants, which RyuJIT inlines, or as a call to its interpreter handler; the
/// block keeps the interpreter's contract (RIP at the next instruction while an instruction runs, a stop after any
/// instruction that may stop the block, the count of instructions run returned), so faults, exits and the instruction
/// counter come out the same. Flags an instruction computes that a later one in the block overwrites unseen are not
/// recorded (dead-flag elimination).
/// </summary>
public static unsafe class BlockCompiler
{
    private static readonly Type[] Parameters = [typeof(object), typeof(Cpu), typeof(CpuState*), typeof(DecodedInstruction*), typeof(ulong)];
    private static readonly Type[] HandlerParameters = [typeof(Cpu), typeof(DecodedInstruction*)];

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

        bool[] flagsNeeded = FindLiveFlags(kinds);
        var method = new DynamicMethod($"block_{block.PhysicalAddress:x}_{block.CodeBits}", typeof(int), Parameters, typeof(BlockCompiler).Module, skipVisibility: true);
        var il = method.GetILGenerator(64 + (count * 48));
        var exits = new List<(Label Label, int Executed)>();
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
            var translation = kinds[i];
            var kind = translation.Kind;
            bool last = i == count - 1;
            if (kind != TranslationKind.Handler)
            {
                translatedInline++;
            }

            if (last || !IsRegisterOnly(kind, in instruction))
            {
                il.Emit(OpCodes.Ldarg_2);
                il.Emit(OpCodes.Ldarg_S, (byte)4);
                il.Emit(OpCodes.Ldc_I8, (long)instruction.EndOffset);
                il.Emit(OpCodes.Call, Operation(nameof(CompiledOperations.SetRip)));
            }

            EmitInstruction(il, in instruction, i, translation, flagsNeeded[i]);
            if (!last && MayStopBlock(kind))
            {
                var exit = il.DefineLabel();
                exits.Add((exit, i + 1));
                il.Emit(OpCodes.Ldarg_2);
                il.Emit(OpCodes.Call, Operation(nameof(CompiledOperations.Stopped)));
                il.Emit(OpCodes.Brtrue, exit);
            }
        }

        il.Emit(OpCodes.Ldc_I4, count);
        il.Emit(OpCodes.Ret);
        foreach (var (label, executed) in exits)
        {
            il.MarkLabel(label);
            il.Emit(OpCodes.Ldc_I4, executed);
            il.Emit(OpCodes.Ret);
        }

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
    private static bool[] FindLiveFlags(Translation[] kinds)
    {
        var needed = new bool[kinds.Length];
        bool live = true;
        for (int i = kinds.Length - 1; i >= 0; i--)
        {
            switch (kinds[i].Kind)
            {
                case TranslationKind.BinaryRegister or TranslationKind.BinaryImmediate:
                    needed[i] = live;
                    live = false;
                    break;
                case TranslationKind.Increment or TranslationKind.Decrement:
                    // INC and DEC carry CF over from the record before them, but only when their own record is needed.
                    needed[i] = live;
                    break;
                case TranslationKind.MoveRegister or TranslationKind.MoveImmediate or TranslationKind.LoadEffectiveAddress
                    or TranslationKind.JumpRelative:
                    break;
                default:
                    live = true;
                    break;
            }
        }

        return needed;
    }

    /// <summary>Instructions that read no memory, cannot fault, and do not read RIP: they need no RIP update before them.</summary>
    private static bool IsRegisterOnly(TranslationKind kind, in DecodedInstruction instruction) => kind switch
    {
        TranslationKind.MoveRegister or TranslationKind.MoveImmediate or TranslationKind.BinaryRegister
            or TranslationKind.BinaryImmediate or TranslationKind.Increment or TranslationKind.Decrement
            or TranslationKind.ShiftImmediate or TranslationKind.MultiplyImmediate => true,
        TranslationKind.LoadEffectiveAddress => instruction.BaseRegister != CpuState.RipIndex && instruction.IndexRegister != CpuState.RipIndex,
        _ => false,
    };

    private static bool MayStopBlock(TranslationKind kind) => kind switch
    {
        TranslationKind.MoveRegister or TranslationKind.MoveImmediate or TranslationKind.LoadEffectiveAddress
            or TranslationKind.BinaryRegister or TranslationKind.BinaryImmediate or TranslationKind.Increment
            or TranslationKind.Decrement or TranslationKind.ShiftImmediate or TranslationKind.MultiplyImmediate => false,
        _ => true,
    };

    private static void EmitInstruction(ILGenerator il, in DecodedInstruction instruction, int index, Translation translation, bool flagsNeeded)
    {
        var kind = translation.Kind;
        switch (kind)
        {
            case TranslationKind.MoveRegister:
                il.Emit(OpCodes.Ldarg_2);
                EmitInt(il, instruction.Operand0Register);
                EmitInt(il, instruction.Operand1Register);
                EmitInt(il, instruction.OperandBits);
                il.Emit(OpCodes.Call, Operation(nameof(CompiledOperations.MoveRegister)));
                break;
            case TranslationKind.MoveImmediate:
                il.Emit(OpCodes.Ldarg_2);
                EmitInt(il, instruction.Operand0Register);
                EmitInt(il, instruction.OperandBits);
                il.Emit(OpCodes.Ldc_I8, (long)instruction.Immediate);
                il.Emit(OpCodes.Call, Operation(nameof(CompiledOperations.MoveImmediate)));
                break;
            case TranslationKind.LoadEffectiveAddress:
                il.Emit(OpCodes.Ldarg_2);
                EmitInt(il, instruction.Operand0Register);
                EmitInt(il, instruction.OperandBits);
                EmitInt(il, instruction.BaseRegister);
                EmitInt(il, instruction.IndexRegister);
                EmitInt(il, instruction.ScaleShift);
                il.Emit(OpCodes.Ldc_I8, instruction.Displacement);
                il.Emit(OpCodes.Ldc_I8, (long)instruction.AddressMask);
                il.Emit(OpCodes.Call, Operation(nameof(CompiledOperations.LoadEffectiveAddress)));
                break;
            case TranslationKind.Load or TranslationKind.Store or TranslationKind.StoreImmediate:
                il.Emit(OpCodes.Ldarg_1);
                il.Emit(OpCodes.Ldarg_2);
                EmitInstructionPointer(il, index);
                if (kind == TranslationKind.StoreImmediate)
                {
                    il.Emit(OpCodes.Ldc_I8, (long)instruction.Immediate);
                }
                else
                {
                    EmitInt(il, kind == TranslationKind.Load ? instruction.Operand0Register : instruction.Operand1Register);
                }

                EmitInt(il, instruction.OperandBits);
                EmitInt(il, instruction.BaseRegister);
                EmitInt(il, instruction.IndexRegister);
                EmitInt(il, instruction.ScaleShift);
                il.Emit(OpCodes.Ldc_I8, instruction.Displacement);
                il.Emit(OpCodes.Ldc_I8, (long)instruction.AddressMask);
                EmitInt(il, instruction.SegmentSlot);
                il.Emit(OpCodes.Ldc_I8, (long)instruction.LinearMask);
                il.Emit(OpCodes.Call, Operation(kind.ToString()));
                break;
            case TranslationKind.BinaryRegister or TranslationKind.BinaryImmediate:
                il.Emit(OpCodes.Ldarg_2);
                EmitInt(il, (int)translation.Operation);
                EmitInt(il, instruction.Operand0Register);
                if (kind == TranslationKind.BinaryRegister)
                {
                    EmitInt(il, instruction.Operand1Register);
                }
                else
                {
                    il.Emit(OpCodes.Ldc_I8, (long)instruction.Immediate);
                }

                EmitInt(il, instruction.OperandBits);
                EmitInt(il, flagsNeeded ? 1 : 0);
                il.Emit(OpCodes.Call, Operation(kind == TranslationKind.BinaryRegister ? nameof(CompiledOperations.BinaryRegister) : nameof(CompiledOperations.Binary)));
                break;
            case TranslationKind.Increment or TranslationKind.Decrement:
                il.Emit(OpCodes.Ldarg_1);
                il.Emit(OpCodes.Ldarg_2);
                EmitInt(il, instruction.Operand0Register);
                EmitInt(il, instruction.OperandBits);
                EmitInt(il, kind == TranslationKind.Increment ? 1 : 0);
                EmitInt(il, flagsNeeded ? 1 : 0);
                il.Emit(OpCodes.Call, Operation(nameof(CompiledOperations.IncrementDecrement)));
                break;
            case TranslationKind.JumpRelative:
                il.Emit(OpCodes.Ldarg_2);
                il.Emit(OpCodes.Ldc_I8, (long)instruction.Immediate);
                il.Emit(OpCodes.Ldc_I8, (long)instruction.AddressMask);
                il.Emit(OpCodes.Call, Operation(nameof(CompiledOperations.JumpRelative)));
                break;
            case TranslationKind.JumpConditional:
                il.Emit(OpCodes.Ldarg_1);
                il.Emit(OpCodes.Ldarg_2);
                EmitInt(il, instruction.Tag);
                il.Emit(OpCodes.Ldc_I8, (long)instruction.Immediate);
                il.Emit(OpCodes.Ldc_I8, (long)instruction.AddressMask);
                il.Emit(OpCodes.Call, Operation(nameof(CompiledOperations.JumpConditional)));
                break;
            case TranslationKind.CallRelative:
                il.Emit(OpCodes.Ldarg_1);
                il.Emit(OpCodes.Ldarg_2);
                EmitInt(il, instruction.StackBytes * 8);
                il.Emit(OpCodes.Ldc_I8, (long)instruction.Immediate);
                il.Emit(OpCodes.Ldc_I8, (long)instruction.AddressMask);
                il.Emit(OpCodes.Call, Operation(nameof(CompiledOperations.CallRelative)));
                break;
            case TranslationKind.PushRegister or TranslationKind.PopRegister:
                il.Emit(OpCodes.Ldarg_1);
                il.Emit(OpCodes.Ldarg_2);
                EmitInt(il, instruction.Operand0Register);
                EmitInt(il, instruction.StackBytes * 8);
                il.Emit(OpCodes.Call, Operation(kind.ToString()));
                break;
            case TranslationKind.Return:
                il.Emit(OpCodes.Ldarg_1);
                il.Emit(OpCodes.Ldarg_2);
                EmitInt(il, translation.Bits);
                il.Emit(OpCodes.Ldc_I8, (long)instruction.Immediate);
                il.Emit(OpCodes.Call, Operation(nameof(CompiledOperations.Return)));
                break;
            case TranslationKind.ShiftImmediate:
                il.Emit(OpCodes.Ldarg_1);
                il.Emit(OpCodes.Ldarg_2);
                EmitInt(il, instruction.Operand0Register);
                EmitInt(il, instruction.Operand1Register);
                EmitInt(il, Execution.ShiftForms.MaskCount((byte)instruction.Immediate, instruction.OperandBits));
                EmitInt(il, instruction.OperandBits);
                il.Emit(OpCodes.Call, Operation(nameof(CompiledOperations.ShiftImmediate)).MakeGenericMethod(translation.OperationType!));
                break;
            case TranslationKind.MultiplyImmediate:
                il.Emit(OpCodes.Ldarg_1);
                il.Emit(OpCodes.Ldarg_2);
                EmitInt(il, instruction.Operand0Register);
                EmitInt(il, instruction.Operand1Register);
                il.Emit(OpCodes.Ldc_I8, (long)instruction.Immediate);
                EmitInt(il, instruction.OperandBits);
                il.Emit(OpCodes.Call, Operation(nameof(CompiledOperations.MultiplyImmediate)));
                break;
            default:
                il.Emit(OpCodes.Ldarg_1);
                EmitInstructionPointer(il, index);
                il.Emit(OpCodes.Ldc_I8, (long)(nint)instruction.Handler);
                il.Emit(OpCodes.Conv_I);
                il.EmitCalli(OpCodes.Calli, CallingConventions.Standard, typeof(void), HandlerParameters, null);
                break;
        }
    }

    private static void EmitInstructionPointer(ILGenerator il, int index)
    {
        il.Emit(OpCodes.Ldarg_3);
        if (index != 0)
        {
            EmitInt(il, index * sizeof(DecodedInstruction));
            il.Emit(OpCodes.Add);
        }
    }

    private static void EmitInt(ILGenerator il, int value) => il.Emit(OpCodes.Ldc_I4, value);

    private static readonly Dictionary<string, MethodInfo> Operations = typeof(CompiledOperations)
        .GetMethods(BindingFlags.Public | BindingFlags.Static)
        .ToDictionary(m => m.Name);

    private static MethodInfo Operation(string name) => Operations[name];
}
