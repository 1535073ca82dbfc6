using Vessel.X86.Cpu.Decoding;

namespace Vessel.X86.Cpu.Execution;

/// <summary>An instruction we decode but do not emulate: #UD, as a CPU without that feature would, logged once per opcode.</summary>
public static unsafe class Unimplemented
{
    private static readonly HashSet<Iced.Intel.Code> Reported = [];

    public static void Execute(Cpu cpu, DecodedInstruction* instruction)
    {
        var code = instruction->Iced.Code;
        if (code != Iced.Intel.Code.INVALID)
        {
            bool first;
            lock (Reported)
            {
                first = Reported.Add(code);
            }

            if (first)
            {
                cpu.Log.Warn($"unemulated instruction '{instruction->Iced}' ({code}) at RIP 0x{cpu.Rip - instruction->Length:x}: raising #UD");
            }
        }

        cpu.RaiseInvalidOpcode();
    }
}
