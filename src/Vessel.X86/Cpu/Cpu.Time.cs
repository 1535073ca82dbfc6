using System.Diagnostics;
using Vessel.Core.Time;

namespace Vessel.X86.Cpu;

/// <summary>The time-stamp counter: the VM's clock (which stands still while the machine is paused) scaled to the advertised TSC frequency (CPUID 0x15).</summary>
public sealed unsafe partial class Cpu
{
    private long tscOffset;

    /// <summary>IA32_TSC_AUX, returned in ECX by RDTSCP.</summary>
    public ulong TscAux { get; set; }

    /// <summary>The guest's time, shared by every vCPU and timer of the VM; the TSC, the LAPIC timer and HLT's sleep read it.</summary>
    public VmClock Clock { get; init; } = new();

    public ulong TimeStampCounter
    {
        get
        {
            long ticks = Clock.GetTimestamp();
            UInt128 scaled = (UInt128)(ulong)ticks * Cpuid.TscFrequencyHz / (ulong)Stopwatch.Frequency;
            return (ulong)scaled + (ulong)tscOffset;
        }

        set => tscOffset = (long)(value - (TimeStampCounter - (ulong)tscOffset));
    }
}
