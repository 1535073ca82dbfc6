namespace Vessel.X86.Apic;

/// <summary>Receives the EOI a local APIC broadcasts for a level-triggered vector (the IOAPIC clears remote IRR).</summary>
public interface IEndOfInterruptListener
{
    void EndOfInterrupt(int vector);
}
