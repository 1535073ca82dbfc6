namespace Vessel.Boot.Acpi;

/// <summary>
/// What the ACPI tables describe: the processors, interrupt controllers and the fixed-hardware registers of the machine's
/// power-management device. The machine builder fills it from the devices it registered, so tables and devices agree.
/// </summary>
public sealed record AcpiPlatform
{
    /// <summary>Local APIC register window of every processor (Intel SDM 3A §11.4.1, the reset value of IA32_APIC_BASE).</summary>
    public const uint DefaultLocalApicAddress = 0xFEE0_0000;

    /// <summary>The IOAPIC's register window, where PCs (and KVM's in-kernel IOAPIC) put it.</summary>
    public const uint DefaultIoApicAddress = 0xFEC0_0000;

    /// <summary>Processors, one Processor Local APIC entry each, with APIC IDs 0..n-1 (what KVM and the software CPU give vCPU n).</summary>
    public required int ProcessorCount { get; init; }

    public uint LocalApicAddress { get; init; } = DefaultLocalApicAddress;

    public uint IoApicAddress { get; init; } = DefaultIoApicAddress;

    /// <summary>
    /// IOAPIC ID: 0, what KVM's in-kernel IOAPIC reports in its ID register after reset (QEMU and Firecracker describe it so too).
    /// </summary>
    public byte IoApicId { get; init; }

    /// <summary>SCI_INT: the ISA IRQ (identity-mapped to the GSI) the power-management device raises.</summary>
    public required byte SciInterrupt { get; init; }

    /// <summary>PM1a_EVT_BLK: PM1 status (2 bytes) then PM1 enable (2 bytes).</summary>
    public required ushort Pm1aEventBlockPort { get; init; }

    /// <summary>PM1a_CNT_BLK: the 2-byte PM1 control register (SCI_EN, SLP_TYP, SLP_EN).</summary>
    public required ushort Pm1aControlBlockPort { get; init; }

    /// <summary>RESET_REG: a 1-byte I/O register; writing <see cref="ResetValue"/> there resets the machine.</summary>
    public required ushort ResetRegisterPort { get; init; }

    public required byte ResetValue { get; init; }

    /// <summary>The SLP_TYP value the DSDT's \_S5 object gives for soft-off; the PM device powers off when it sees it with SLP_EN.</summary>
    public required byte SoftOffSleepType { get; init; }

    /// <summary>Legacy devices to describe in the DSDT (the console UART, the i8042).</summary>
    public IReadOnlyList<IsaDevice> IsaDevices { get; init; } = [];

    /// <summary>The PCI host bridge, when the machine has one: the DSDT's \_SB.PCI0 and the MCFG table describe it.</summary>
    public PciRootDescription? Pci { get; init; }
}
