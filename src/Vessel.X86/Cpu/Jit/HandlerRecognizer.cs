using System.Reflection;
using Vessel.X86.Cpu.Decoding;
using Vessel.X86.Cpu.Execution;

namespace Vessel.X86.Cpu.Jit;

/// <summary>
/// Recognizes the handlers the compiler translates inline, by the handler the decoder chose: the decoder has already
/// told register forms from memory forms and picked the operand width, so the handler names the exact semantics.
/// </summary>
internal static unsafe class HandlerRecognizer
{
    private static readonly Dictionary<nint, Translation> Known = Build();

    public static Translation Classify(in DecodedInstruction instruction) =>
        Known.TryGetValue((nint)instruction.Handler, out var known) ? known : Translation.Handler;

    /// <summary>How many handlers are recognized (a test checks that the reflected shift handlers were found).</summary>
    public static int RecognizedHandlers => Known.Count;

    private static Dictionary<nint, Translation> Build()
    {
        var known = new Dictionary<nint, Translation>
        {
            [(nint)(delegate*<Cpu, DecodedInstruction*, void>)&DataTransfer.MoveRegisterRegister] = new(TranslationKind.MoveRegister),
            [(nint)(delegate*<Cpu, DecodedInstruction*, void>)&DataTransfer.MoveRegisterImmediate] = new(TranslationKind.MoveImmediate),
            [(nint)(delegate*<Cpu, DecodedInstruction*, void>)&DataTransfer.LoadEffectiveAddress] = new(TranslationKind.LoadEffectiveAddress),
            [(nint)(delegate*<Cpu, DecodedInstruction*, void>)&DataTransfer.Load] = new(TranslationKind.Load),
            [(nint)(delegate*<Cpu, DecodedInstruction*, void>)&DataTransfer.Store] = new(TranslationKind.Store),
            [(nint)(delegate*<Cpu, DecodedInstruction*, void>)&DataTransfer.MoveMemoryImmediate] = new(TranslationKind.StoreImmediate),
            [(nint)(delegate*<Cpu, DecodedInstruction*, void>)&Arithmetic.IncrementRegister] = new(TranslationKind.Increment),
            [(nint)(delegate*<Cpu, DecodedInstruction*, void>)&Arithmetic.DecrementRegister] = new(TranslationKind.Decrement),
            [(nint)(delegate*<Cpu, DecodedInstruction*, void>)&ControlFlow.JumpRelative] = new(TranslationKind.JumpRelative),
            [(nint)(delegate*<Cpu, DecodedInstruction*, void>)&ControlFlow.JumpConditional] = new(TranslationKind.JumpConditional),
            [(nint)(delegate*<Cpu, DecodedInstruction*, void>)&ControlFlow.CallRelative] = new(TranslationKind.CallRelative),
            [(nint)(delegate*<Cpu, DecodedInstruction*, void>)&ControlFlow.Return<Width16>] = new(TranslationKind.Return, Bits: 16),
            [(nint)(delegate*<Cpu, DecodedInstruction*, void>)&ControlFlow.Return<Width32>] = new(TranslationKind.Return, Bits: 32),
            [(nint)(delegate*<Cpu, DecodedInstruction*, void>)&ControlFlow.Return<Width64>] = new(TranslationKind.Return, Bits: 64),
            [(nint)(delegate*<Cpu, DecodedInstruction*, void>)&StackOperations.PushRegister] = new(TranslationKind.PushRegister),
            [(nint)(delegate*<Cpu, DecodedInstruction*, void>)&StackOperations.PopRegister] = new(TranslationKind.PopRegister),
            [(nint)(delegate*<Cpu, DecodedInstruction*, void>)&MultiplyDivide.ThreeOperandRegister] = new(TranslationKind.MultiplyImmediate),
        };

        AddBinary<AddOperation>(known, AluOperation.Add);
        AddBinary<OrOperation>(known, AluOperation.Or);
        AddBinary<AndOperation>(known, AluOperation.And);
        AddBinary<SubOperation>(known, AluOperation.Sub);
        AddBinary<XorOperation>(known, AluOperation.Xor);
        AddBinary<CmpOperation>(known, AluOperation.Cmp);
        AddBinary<TestOperation>(known, AluOperation.Test);
        AddShifts(known);
        return known;
    }

    private static void AddBinary<TOperation>(Dictionary<nint, Translation> known, AluOperation operation)
        where TOperation : IBinaryOperation
    {
        known[(nint)(delegate*<Cpu, DecodedInstruction*, void>)&Arithmetic.RegisterRegister<TOperation>] = new(TranslationKind.BinaryRegister, operation);
        known[(nint)(delegate*<Cpu, DecodedInstruction*, void>)&Arithmetic.RegisterImmediate<TOperation>] = new(TranslationKind.BinaryImmediate, operation);
    }

    /// <summary>
    /// The shift and rotate operations are private to their families, so their register-by-immediate handlers are
    /// found by reflection. A reflected method's entry point is the address the decoder stored only if the runtime
    /// hands out one stable address per method, which is checked here first on a handler whose address is known.
    /// </summary>
    private static void AddShifts(Dictionary<nint, Translation> known)
    {
        var registerForm = typeof(ShiftForms).GetMethod(nameof(ShiftForms.RegisterForm))!;
        var probe = typeof(Arithmetic).GetMethod(nameof(Arithmetic.RegisterRegister))!.MakeGenericMethod(typeof(AddOperation));
        if (probe.MethodHandle.GetFunctionPointer() != (nint)(delegate*<Cpu, DecodedInstruction*, void>)&Arithmetic.RegisterRegister<AddOperation>)
        {
            return;
        }

        foreach (var family in new[] { typeof(Shifts), typeof(Rotates) })
        {
            foreach (var operation in family.GetNestedTypes(BindingFlags.NonPublic | BindingFlags.Public))
            {
                if (operation.IsValueType && typeof(IShiftOperation).IsAssignableFrom(operation))
                {
                    var handler = registerForm.MakeGenericMethod(operation, typeof(ImmediateCount));
                    known[handler.MethodHandle.GetFunctionPointer()] = new(TranslationKind.ShiftImmediate, OperationType: operation);
                }
            }
        }
    }
}
