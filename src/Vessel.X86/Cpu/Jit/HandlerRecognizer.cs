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

        AddReflected(known);
        AddBinary<AddOperation>(known, AluOperation.Add);
        AddBinary<OrOperation>(known, AluOperation.Or);
        AddBinary<AndOperation>(known, AluOperation.And);
        AddBinary<SubOperation>(known, AluOperation.Sub);
        AddBinary<XorOperation>(known, AluOperation.Xor);
        AddBinary<CmpOperation>(known, AluOperation.Cmp);
        AddBinary<TestOperation>(known, AluOperation.Test);
        AddBinary<AdcOperation>(known, AluOperation.Adc);
        AddBinary<SbbOperation>(known, AluOperation.Sbb);
        AddShifts(known);
        return known;
    }

    private static void AddBinary<TOperation>(Dictionary<nint, Translation> known, AluOperation operation)
        where TOperation : IBinaryOperation
    {
        known[(nint)(delegate*<Cpu, DecodedInstruction*, void>)&Arithmetic.RegisterRegister<TOperation>] = new(TranslationKind.BinaryRegister, operation);
        known[(nint)(delegate*<Cpu, DecodedInstruction*, void>)&Arithmetic.RegisterImmediate<TOperation>] = new(TranslationKind.BinaryImmediate, operation);
        known[(nint)(delegate*<Cpu, DecodedInstruction*, void>)&Arithmetic.RegisterMemory<TOperation>] = new(TranslationKind.BinaryLoad, operation);
        known[(nint)(delegate*<Cpu, DecodedInstruction*, void>)&Arithmetic.MemoryRegister<TOperation>] = new(TranslationKind.BinaryMemoryRegister, operation);
        known[(nint)(delegate*<Cpu, DecodedInstruction*, void>)&Arithmetic.MemoryImmediate<TOperation>] = new(TranslationKind.BinaryMemoryImmediate, operation);
    }

    /// <summary>Whether a reflected method's entry point is the address the decoder stored (see <see cref="AddShifts"/>).</summary>
    private static bool EntryPointsAreStable()
    {
        var probe = typeof(Arithmetic).GetMethod(nameof(Arithmetic.RegisterRegister))!.MakeGenericMethod(typeof(AddOperation));
        return probe.MethodHandle.GetFunctionPointer() == (nint)(delegate*<Cpu, DecodedInstruction*, void>)&Arithmetic.RegisterRegister<AddOperation>;
    }

    /// <summary>Handlers private to their families (MOVZX/MOVSX, CMOVcc, SETcc, IMUL r, r/m, indirect JMP and CALL), found by name.</summary>
    private static void AddReflected(Dictionary<nint, Translation> known)
    {
        if (!EntryPointsAreStable())
        {
            return;
        }

        void Add(Type family, string name, Type? width, Translation translation)
        {
            var method = family.GetMethod(name, BindingFlags.NonPublic | BindingFlags.Public | BindingFlags.Static)
                ?? throw new InvalidOperationException($"compiling tier: handler {family.Name}.{name} not found");
            if (width != null)
            {
                method = method.MakeGenericMethod(width);
            }

            known[method.MethodHandle.GetFunctionPointer()] = translation;
        }

        foreach (var (width, bits) in new[] { (typeof(Width8), 8), (typeof(Width16), 16) })
        {
            Add(typeof(DataTransfer), "ZeroExtendRegister", width, new(TranslationKind.ZeroExtendRegister, Bits: bits));
            Add(typeof(DataTransfer), "ZeroExtendMemory", width, new(TranslationKind.ZeroExtendMemory, Bits: bits));
        }

        foreach (var (width, bits) in new[] { (typeof(Width8), 8), (typeof(Width16), 16), (typeof(Width32), 32) })
        {
            Add(typeof(DataTransfer), "SignExtendRegister", width, new(TranslationKind.SignExtendRegister, Bits: bits));
            Add(typeof(DataTransfer), "SignExtendMemory", width, new(TranslationKind.SignExtendMemory, Bits: bits));
        }

        Add(typeof(DataTransfer), "ConditionalMoveRegister", null, new(TranslationKind.ConditionalMove));
        Add(typeof(DataTransfer), "SetConditionRegister", null, new(TranslationKind.SetCondition));
        Add(typeof(MultiplyDivide), "TwoOperandRegister", null, new(TranslationKind.MultiplyRegister));
        Add(typeof(MultiplyDivide), "TwoOperandMemory", null, new(TranslationKind.MultiplyLoad));
        Add(typeof(MultiplyDivide), "ThreeOperandMemory", null, new(TranslationKind.MultiplyLoadImmediate));
        Add(typeof(ControlFlow), "JumpIndirectRegister", null, new(TranslationKind.JumpIndirectRegister));
        Add(typeof(ControlFlow), "CallIndirectRegister", null, new(TranslationKind.CallIndirectRegister));
    }

    /// <summary>
    /// The shift and rotate operations are private to their families, so their register-by-immediate handlers (and
    /// the shifts' register-by-CL ones) are found by reflection. A reflected method's entry point is the address the
    /// decoder stored only if the runtime hands out one stable address per method, which is checked here first on a
    /// handler whose address is known.
    /// </summary>
    private static void AddShifts(Dictionary<nint, Translation> known)
    {
        var registerForm = typeof(ShiftForms).GetMethod(nameof(ShiftForms.RegisterForm))!;
        if (!EntryPointsAreStable())
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
                    if (operation.Name is "ShiftLeft" or "ShiftRightLogical" or "ShiftRightArithmetic")
                    {
                        var byCount = registerForm.MakeGenericMethod(operation, typeof(RegisterClCount));
                        known[byCount.MethodHandle.GetFunctionPointer()] = new(TranslationKind.ShiftCount, OperationType: operation);
                    }
                }
            }
        }
    }
}
