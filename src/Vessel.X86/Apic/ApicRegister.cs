namespace Vessel.X86.Apic;

/// <summary>
/// Local APIC register offsets in the xAPIC page (Intel SDM 3A Table 11-1). In x2APIC mode register R is MSR
/// 0x800 + (R >> 4) (SDM 3A Table 11-6).
/// </summary>
public enum ApicRegister
{
    /// <summary>ID: the APIC ID, bits 31:24 in xAPIC mode, all 32 bits in x2APIC mode.</summary>
    Id = 0x020,

    /// <summary>Version: version 0x14, max LVT entry in bits 23:16.</summary>
    Version = 0x030,

    /// <summary>TPR: task priority.</summary>
    TaskPriority = 0x080,

    /// <summary>APR: arbitration priority (P6-era; reads 0 as under KVM).</summary>
    ArbitrationPriority = 0x090,

    /// <summary>PPR: processor priority, derived from TPR and the highest in-service vector.</summary>
    ProcessorPriority = 0x0A0,

    /// <summary>EOI: end of interrupt (write-only).</summary>
    EndOfInterrupt = 0x0B0,

    /// <summary>RRD: remote read (not supported; reads 0).</summary>
    RemoteRead = 0x0C0,

    /// <summary>LDR: logical destination.</summary>
    LogicalDestination = 0x0D0,

    /// <summary>DFR: destination format (flat or cluster); xAPIC only.</summary>
    DestinationFormat = 0x0E0,

    /// <summary>SVR: spurious interrupt vector and the software enable bit.</summary>
    SpuriousInterruptVector = 0x0F0,

    /// <summary>ISR: in-service register, eight 32-bit words 16 bytes apart.</summary>
    InService = 0x100,

    /// <summary>TMR: trigger mode register.</summary>
    TriggerMode = 0x180,

    /// <summary>IRR: interrupt request register.</summary>
    InterruptRequest = 0x200,

    /// <summary>ESR: error status.</summary>
    ErrorStatus = 0x280,

    /// <summary>LVT CMCI: corrected machine-check interrupt.</summary>
    LvtCorrectedMachineCheck = 0x2F0,

    /// <summary>ICR low: vector, delivery mode, destination mode, level, trigger, shorthand; a write sends the IPI.</summary>
    InterruptCommandLow = 0x300,

    /// <summary>ICR high: destination in bits 31:24 (xAPIC only; x2APIC's ICR is one 64-bit MSR).</summary>
    InterruptCommandHigh = 0x310,

    LvtTimer = 0x320,
    LvtThermalSensor = 0x330,
    LvtPerformanceCounter = 0x340,
    LvtLint0 = 0x350,
    LvtLint1 = 0x360,
    LvtError = 0x370,

    /// <summary>Initial count of the APIC timer.</summary>
    TimerInitialCount = 0x380,

    /// <summary>Current count of the APIC timer (read-only).</summary>
    TimerCurrentCount = 0x390,

    /// <summary>Divide configuration of the APIC timer.</summary>
    TimerDivideConfiguration = 0x3E0,

    /// <summary>SELF IPI (x2APIC only, write-only).</summary>
    SelfInterprocessorInterrupt = 0x3F0,
}
