namespace Vessel.X86.Cpu;

/// <summary>Where an event came from; it decides the EXT bit of error codes and the gate-DPL check.</summary>
public enum InterruptSource
{
    /// <summary>A fault or trap raised by an instruction.</summary>
    Exception,

    /// <summary>INT n, INT3, INTO: checked against the gate's DPL.</summary>
    Software,

    /// <summary>An interrupt from the local APIC or PIC.</summary>
    External,
}
