namespace Vessel.X86.Apic;

/// <summary>The 8259 PIC pair as a local APIC sees it through LINT0 in ExtINT (virtual wire) mode.</summary>
public interface IExternalInterruptSource
{
    /// <summary>The PIC's INTR output.</summary>
    bool OutputAsserted { get; }

    /// <summary>The INTA cycle: the vector the PIC supplies (its spurious IRQ 7 vector when nothing is left).</summary>
    int Acknowledge();
}
