using Vessel.Core.Logging;
using Vessel.X86.Cpu.Decoding;

namespace Vessel.X86.Cpu.Execution;

/// <summary>An instruction we decode but do not emulate: #UD, as a CPU without that feature would, logged once per opcode.</summary>
public static unsafe class Unimplemented
{
    private static readonly HashSet<Iced.Intel.Code> Reported = [];
    private static readonly LogRateLimiter DistinctForms = new(burst: 20);

    public static void Execute(Cpu cpu, DecodedInstruction* instruction)
    {
        var code = instruction->Iced.Code;
        if (code != Iced.Intel.Code.INVALID)
        {
            bool first;
            long heldBack = 0;
            lock (Reported)
            {
                // Once per instruction form, and no faster than the limiter allows across forms: a guest executing random
                // bytes meets thousands of them.
                first = !Reported.Contains(code) && DistinctForms.TryAcquire(out heldBack);
                if (first)
                {
                    Reported.Add(code);
                }
            }

            if (first)
            {
                cpu.Log.Warn(LogRateLimiter.Summarize($"unemulated instruction '{instruction->Iced}' ({code}) at RIP 0x{cpu.Rip - instruction->Length:x}: raising #UD", heldBack));
            }
        }

        cpu.RaiseInvalidOpcode();
    }
}
