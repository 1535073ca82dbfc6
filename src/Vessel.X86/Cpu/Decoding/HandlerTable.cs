using Iced.Intel;

namespace Vessel.X86.Cpu.Decoding;

/// <summary>
/// Maps each Iced <see cref="Code"/> to its handlers: one for the register form and one for the memory form of the
/// r/m operand, so the choice is made once at decode time. Instruction families fill it in <c>Register</c> methods.
/// </summary>
public sealed unsafe class HandlerTable
{
    private readonly nint[] registerForm = new nint[CodeCount];
    private readonly nint[] memoryForm = new nint[CodeCount];

    private static readonly int CodeCount = Enum.GetValues<Code>().Length;

    public static HandlerTable Instance { get; } = Build();

    /// <summary>Registers a handler used whatever the operand kinds are.</summary>
    public void Add(Code code, delegate*<Cpu, DecodedInstruction*, void> handler) => Add(code, handler, handler);

    public void Add(Code code, delegate*<Cpu, DecodedInstruction*, void> registerHandler, delegate*<Cpu, DecodedInstruction*, void> memoryHandler)
    {
        registerForm[(int)code] = (nint)registerHandler;
        memoryForm[(int)code] = (nint)memoryHandler;
    }

    public bool IsImplemented(Code code) => registerForm[(int)code] != 0 || memoryForm[(int)code] != 0;

    public delegate*<Cpu, DecodedInstruction*, void> Select(in Instruction instruction, bool hasMemoryOperand)
    {
        nint handler = hasMemoryOperand ? memoryForm[(int)instruction.Code] : registerForm[(int)instruction.Code];
        return handler == 0 ? &Execution.Unimplemented.Execute : (delegate*<Cpu, DecodedInstruction*, void>)handler;
    }

    private static HandlerTable Build()
    {
        var table = new HandlerTable();
        foreach (var register in Execution.InstructionFamilies.All)
        {
            register(table);
        }

        return table;
    }
}
