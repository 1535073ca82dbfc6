using Iced.Intel;
using Vessel.Core.Memory;
using Vessel.X86.Cpu.Jit;
using Vessel.X86.Tests.Guests;

namespace Vessel.X86.Tests.Jit;

/// <summary>
/// One guest program in two machines, the interpreter alone in one and every block compiled (threshold 0) in the
/// other, run a block at a time with the architectural state compared after each.
/// </summary>
public sealed class TierPair : IDisposable
{
    private const ulong StackWindow = 512;
    private const int DataWindow = 8192;

    /// <summary>
    /// Two guests running <paramref name="program"/>: one interpreted, one compiled. By default every block is compiled
    /// before it first runs (so alone: its successors are not decoded yet); with a <paramref name="compileThreshold"/>
    /// a block is compiled on its vCPU thread once it ran that often, by then with the blocks it leads to, into regions.
    /// </summary>
    public TierPair(Action<Assembler, InterruptRoutes> program, int? compileThreshold = null)
    {
        Interpreted = new LongModeGuest(program);
        Compiled = new LongModeGuest(program);
        Interpreted.Cpu.CompilingTier = CompilingTierMode.Off;
        if (compileThreshold is int threshold)
        {
            Compiled.Cpu.CompilingTier = CompilingTierMode.On;
            Compiled.Cpu.CompileThreshold = threshold;
            Compiled.Cpu.CompileOnVcpuThread = true;
        }
        else
        {
            Compiled.Cpu.CompilingTier = CompilingTierMode.Always;
        }
    }

    public LongModeGuest Interpreted { get; }

    public LongModeGuest Compiled { get; }

    /// <summary>
    /// Runs both to the exit port, a block at a time, failing at the first block after which they differ. With a larger
    /// <paramref name="instructionsPerStep"/> each step runs that many instructions (rounded up to a block boundary), so
    /// compiled blocks chain into each other through their direct links between comparisons.
    /// </summary>
    public int RunToExit(int maximumBlocks = 2_000_000, ulong instructionsPerStep = 1)
    {
        for (int block = 0; block < maximumBlocks; block++)
        {
            if (Interpreted.Io.ExitValue != null && Compiled.Io.ExitValue != null)
            {
                return block;
            }

            Interpreted.Cpu.Run(instructionsPerStep);
            Compiled.Cpu.Run(instructionsPerStep);
            string? difference = Difference();
            Assert.True(difference == null, $"after block {block}: {difference}");
        }

        Assert.Fail($"the guest did not reach the exit port within {maximumBlocks} blocks");
        return maximumBlocks;
    }

    /// <summary>The first difference in registers, RIP, RFLAGS, the instruction count, CR2 or the watched memory; null when none.</summary>
    public string? Difference()
    {
        var a = Interpreted.Cpu;
        var b = Compiled.Cpu;
        for (int i = 0; i < 16; i++)
        {
            if (a.Register(i) != b.Register(i))
            {
                return $"register {i}: interpreter 0x{a.Register(i):x}, compiled 0x{b.Register(i):x} (RIP 0x{a.Rip:x})";
            }
        }

        if (a.Rip != b.Rip)
        {
            return $"RIP: interpreter 0x{a.Rip:x}, compiled 0x{b.Rip:x}";
        }

        if (a.Rflags != b.Rflags)
        {
            return $"RFLAGS: interpreter 0x{a.Rflags:x}, compiled 0x{b.Rflags:x} (RIP 0x{a.Rip:x})";
        }

        if (a.InstructionsRetired != b.InstructionsRetired)
        {
            return $"instructions retired: interpreter {a.InstructionsRetired}, compiled {b.InstructionsRetired} (RIP 0x{a.Rip:x})";
        }

        ulong cr2A;
        ulong cr2B;
        unsafe
        {
            cr2A = a.State->Cr2;
            cr2B = b.State->Cr2;
        }

        if (cr2A != cr2B)
        {
            return $"CR2: interpreter 0x{cr2A:x}, compiled 0x{cr2B:x}";
        }

        return MemoryDifference(LongModeGuest.StackTop - StackWindow, (int)StackWindow, "stack")
            ?? MemoryDifference(LongModeGuest.DataAddress, DataWindow, "data")
            ?? MemoryDifference(LongModeGuest.ExceptionLogAddress, 40, "exception log");
    }

    private string? MemoryDifference(ulong address, int length, string what)
    {
        var left = new byte[length];
        var right = new byte[length];
        Interpreted.Memory.ReadBytes(new GuestAddress(address), left);
        Compiled.Memory.ReadBytes(new GuestAddress(address), right);
        int at = left.AsSpan().CommonPrefixLength(right);
        return at == length ? null : $"{what} memory at 0x{address + (ulong)at:x}: interpreter 0x{left[at]:x2}, compiled 0x{right[at]:x2}";
    }

    public void Dispose()
    {
        Interpreted.Dispose();
        Compiled.Dispose();
    }
}
