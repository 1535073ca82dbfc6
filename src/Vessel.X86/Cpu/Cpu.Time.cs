using System.Diagnostics;

namespace Vessel.X86.Cpu;

/// <summary>The time-stamp counter: the host's monotonic clock scaled to the advertised TSC frequency (CPUID 0x15).</summary>
public sealed unsafe partial class Cpu
{
    private long tscOffset;

    /// <summary>IA32_TSC_AUX, returned in ECX by RDTSCP.</summary>
    public ulong TscAux { get; set; }

    public ulong TimeStampCounter
    {
        get
        {
            long ticks = Stopwatch.GetTimestamp();
            UInt128 scaled = (UInt128)(ulong)ticks * Cpuid.TscFrequencyHz / (ulong)Stopwatch.Frequency;
            return (ulong)scaled + (ulong)tscOffset;
        }

        set => tscOffset = (long)(value - (TimeStampCounter - (ulong)tscOffset));
    }
}
