using Iced.Intel;
using Vessel.X86.Cpu.Decoding;

namespace Vessel.X86.Cpu.Execution;

/// <summary>IN and OUT: the access goes to the machine's port bus in the middle of the instruction.</summary>
public static unsafe class InputOutput
{
    public static void Register(HandlerTable table)
    {
        foreach (var (code, operands) in CodeFamily.Of("In"))
        {
            table.Add(code, operands.EndsWith("DX", StringComparison.Ordinal) ? &InFromDx : &InFromImmediate);
        }

        foreach (var (code, operands) in CodeFamily.Of("Out"))
        {
            table.Add(code, operands.StartsWith("DX", StringComparison.Ordinal) ? &OutToDx : &OutToImmediate);
        }
    }

    private static void InFromImmediate(Cpu cpu, DecodedInstruction* instruction) =>
        In(cpu, (ushort)instruction->Immediate, instruction->OperandBits);

    private static void InFromDx(Cpu cpu, DecodedInstruction* instruction) =>
        In(cpu, (ushort)cpu.ReadRegister(2, 16), instruction->OperandBits);

    private static void OutToImmediate(Cpu cpu, DecodedInstruction* instruction) =>
        Out(cpu, (ushort)instruction->Immediate, OperandWidth(instruction));

    private static void OutToDx(Cpu cpu, DecodedInstruction* instruction) =>
        Out(cpu, (ushort)cpu.ReadRegister(2, 16), OperandWidth(instruction));

    private static int OperandWidth(DecodedInstruction* instruction) => instruction->Iced.Op1Register.GetSize() * 8;

    private static void In(Cpu cpu, ushort port, int bits)
    {
        if (!cpu.CheckIoPermission(port, bits / 8))
        {
            return;
        }

        Span<byte> data = stackalloc byte[8];
        data = data[..(bits / 8)];
        cpu.Io.PortRead(port, data);
        ulong value = bits switch
        {
            8 => data[0],
            16 => BitConverter.ToUInt16(data),
            _ => BitConverter.ToUInt32(data),
        };
        cpu.WriteRegister(0, bits, value);
    }

    private static void Out(Cpu cpu, ushort port, int bits)
    {
        if (!cpu.CheckIoPermission(port, bits / 8))
        {
            return;
        }

        ulong value = cpu.ReadRegister(0, bits);
        Span<byte> data = stackalloc byte[4];
        BitConverter.TryWriteBytes(data, (uint)value);
        cpu.Io.PortWrite(port, data[..(bits / 8)]);
        cpu.StopBlock();
    }
}
