namespace Vessel.Boot.Acpi;

/// <summary>
/// Multiple APIC Description Table (ACPI 6.5 §5.2.12): the local APIC window, one Processor Local APIC per vCPU, the IOAPIC,
/// the SCI's interrupt source override and the local APICs' NMI pin.
/// </summary>
/// <remarks>
/// There is no override for IRQ 0: the PIT's interrupt arrives at IOAPIC pin 0. KVM's in-kernel PIT raises GSI 0 and KVM's
/// default routing sends GSI n to IOAPIC pin n, so ISA IRQ 0 is GSI 0 on this machine (Firecracker describes it the same way).
/// A PC chipset wires the PIT to pin 2 instead, which firmware reports with an IRQ0-to-GSI2 override; Vessel would need its
/// own GSI routing under KVM to copy that, and gains nothing from it.
/// </remarks>
public static class Madt
{
    /// <summary>ACPI 6.5 MADT revision.</summary>
    public const byte Revision = 6;

    /// <summary>PCAT_COMPAT (Table 5.20): the machine also has dual 8259 PICs, which the OS must mask when it uses the APICs.</summary>
    public const uint PcAtCompatible = 1;

    public const byte ProcessorLocalApicType = 0;
    public const byte IoApicType = 1;
    public const byte InterruptSourceOverrideType = 2;
    public const byte LocalApicNmiType = 4;

    /// <summary>Processor Local APIC flags (Table 5.23): Enabled.</summary>
    public const uint LocalApicEnabled = 1;

    /// <summary>ACPI Processor UID 0xFF in a Local APIC NMI structure: all processors.</summary>
    public const byte AllProcessors = 0xFF;

    /// <summary>ISA bus, the only source bus of an interrupt source override.</summary>
    public const byte IsaBus = 0;

    public static byte[] Build(AcpiPlatform platform)
    {
        var table = new AcpiTable("APIC", Revision);
        table.AppendUInt32(platform.LocalApicAddress);
        table.AppendUInt32(PcAtCompatible);
        for (int processor = 0; processor < platform.ProcessorCount; processor++)
        {
            // Processor Local APIC (Table 5.22): type, length 8, ACPI Processor UID, APIC ID, flags.
            table.AppendByte(ProcessorLocalApicType);
            table.AppendByte(8);
            table.AppendByte((byte)processor);
            table.AppendByte((byte)processor);
            table.AppendUInt32(LocalApicEnabled);
        }

        // I/O APIC (Table 5.24): type, length 12, I/O APIC ID, reserved, address, Global System Interrupt Base.
        table.AppendByte(IoApicType);
        table.AppendByte(12);
        table.AppendByte(platform.IoApicId);
        table.AppendByte(0);
        table.AppendUInt32(platform.IoApicAddress);
        table.AppendUInt32(0);

        // Interrupt Source Override (Table 5.25): the SCI is level-triggered and active high, as QEMU and PIIX describe it.
        table.AppendByte(InterruptSourceOverrideType);
        table.AppendByte(10);
        table.AppendByte(IsaBus);
        table.AppendByte(platform.SciInterrupt);
        table.AppendUInt32(platform.SciInterrupt);
        table.AppendUInt16((ushort)(InterruptInputFlags.ActiveHigh | InterruptInputFlags.LevelTriggered));

        // Local APIC NMI (Table 5.30): LINT1 of every processor carries NMI, as the MP spec's virtual wire mode has it.
        table.AppendByte(LocalApicNmiType);
        table.AppendByte(6);
        table.AppendByte(AllProcessors);
        table.AppendUInt16((ushort)InterruptInputFlags.Conforming);
        table.AppendByte(1);
        return table.ToArray();
    }
}

/// <summary>MPS INTI flags (ACPI 6.5 Table 5.26): polarity in bits 1:0, trigger mode in bits 3:2.</summary>
[Flags]
public enum InterruptInputFlags : ushort
{
    /// <summary>Both fields 00: conforms to the bus's own conventions.</summary>
    Conforming = 0,

    ActiveHigh = 0b01,

    ActiveLow = 0b11,

    EdgeTriggered = 0b01 << 2,

    LevelTriggered = 0b11 << 2,
}
