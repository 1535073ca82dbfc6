using Vessel.X86.Cpu.Decoding;
using Vessel.X86.Cpu.Execution;

namespace Vessel.X86.Cpu.Jit;

/// <summary>
/// Recognizes the handlers the compiler translates inline, by the handler the decoder chose: the decoder has already
/// told register forms from memory forms and picked the operand width, so the handler names the exact semantics.
/// </summary>
internal static unsafe class HandlerRecognizer
{
    private static readonly Dictionary<nint, (TranslationKind Kind, AluOperation Operation)> Known = Build();

    public static (TranslationKind Kind, AluOperation Operation) Classify(in DecodedInstruction instruction) =>
        Known.TryGetValue((nint)instruction.Handler, out var known) ? known : (TranslationKind.Handler, default);

    private static Dictionary<nint, (TranslationKind, AluOperation)> Build()
    {
        var known = new Dictionary<nint, (TranslationKind, AluOperation)>
        {
            [(nint)(delegate*<Cpu, DecodedInstruction*, void>)&DataTransfer.MoveRegisterRegister] = (TranslationKind.MoveRegister, default),
            [(nint)(delegate*<Cpu, DecodedInstruction*, void>)&DataTransfer.MoveRegisterImmediate] = (TranslationKind.MoveImmediate, default),
            [(nint)(delegate*<Cpu, DecodedInstruction*, void>)&DataTransfer.LoadEffectiveAddress] = (TranslationKind.LoadEffectiveAddress, default),
            [(nint)(delegate*<Cpu, DecodedInstruction*, void>)&DataTransfer.Load] = (TranslationKind.Load, default),
            [(nint)(delegate*<Cpu, DecodedInstruction*, void>)&DataTransfer.Store] = (TranslationKind.Store, default),
            [(nint)(delegate*<Cpu, DecodedInstruction*, void>)&DataTransfer.MoveMemoryImmediate] = (TranslationKind.StoreImmediate, default),
            [(nint)(delegate*<Cpu, DecodedInstruction*, void>)&Arithmetic.IncrementRegister] = (TranslationKind.Increment, default),
            [(nint)(delegate*<Cpu, DecodedInstruction*, void>)&Arithmetic.DecrementRegister] = (TranslationKind.Decrement, default),
            [(nint)(delegate*<Cpu, DecodedInstruction*, void>)&ControlFlow.JumpRelative] = (TranslationKind.JumpRelative, default),
            [(nint)(delegate*<Cpu, DecodedInstruction*, void>)&ControlFlow.JumpConditional] = (TranslationKind.JumpConditional, default),
            [(nint)(delegate*<Cpu, DecodedInstruction*, void>)&ControlFlow.CallRelative] = (TranslationKind.CallRelative, default),
            [(nint)(delegate*<Cpu, DecodedInstruction*, void>)&StackOperations.PushRegister] = (TranslationKind.PushRegister, default),
            [(nint)(delegate*<Cpu, DecodedInstruction*, void>)&StackOperations.PopRegister] = (TranslationKind.PopRegister, default),
        };

        AddBinary<AddOperation>(known, AluOperation.Add);
        AddBinary<OrOperation>(known, AluOperation.Or);
        AddBinary<AndOperation>(known, AluOperation.And);
        AddBinary<SubOperation>(known, AluOperation.Sub);
        AddBinary<XorOperation>(known, AluOperation.Xor);
        AddBinary<CmpOperation>(known, AluOperation.Cmp);
        AddBinary<TestOperation>(known, AluOperation.Test);
        return known;
    }

    private static void AddBinary<TOperation>(Dictionary<nint, (TranslationKind, AluOperation)> known, AluOperation operation)
        where TOperation : IBinaryOperation
    {
        known[(nint)(delegate*<Cpu, DecodedInstruction*, void>)&Arithmetic.RegisterRegister<TOperation>] = (TranslationKind.BinaryRegister, operation);
        known[(nint)(delegate*<Cpu, DecodedInstruction*, void>)&Arithmetic.RegisterImmediate<TOperation>] = (TranslationKind.BinaryImmediate, operation);
    }
}
