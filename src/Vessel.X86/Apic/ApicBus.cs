namespace Vessel.X86.Apic;

/// <summary>
/// The interrupt fabric between a VM's local APICs, its IOAPIC and its PIC: delivers IPIs, IOAPIC redirections and
/// MSIs to the local APICs their destination names, broadcasts EOIs to the IOAPIC, and routes the PIC's output to the
/// processor that accepts it (as KVM's pic_unlock kicks the first vCPU whose APIC accepts PIC interrupts).
/// </summary>
public sealed class ApicBus
{
    private readonly Lock attachLock = new();
    private LocalApic[] apics = [];

    /// <summary>The 8259 pair wired to every LINT0; null on a machine without one.</summary>
    public IExternalInterruptSource? ExternalInterrupts { get; set; }

    /// <summary>Who hears EOI broadcasts (the IOAPIC).</summary>
    public IEndOfInterruptListener? EndOfInterruptListener { get; set; }

    public IReadOnlyList<LocalApic> Apics => apics;

    public void Attach(LocalApic apic)
    {
        lock (attachLock)
        {
            apics = [.. apics, apic];
        }
    }

    /// <summary>Delivers a message to every local APIC it names; lowest-priority picks one of them.</summary>
    public void Deliver(InterruptMessage message, LocalApic? source = null)
    {
        var snapshot = apics;
        if (message.DeliveryMode == ApicDeliveryMode.LowestPriority && message.Shorthand is ApicDestinationShorthand.None)
        {
            // SDM 3A §11.6.2.4: the target with the lowest processor priority takes it (KVM's kvm_apic_compare_prio);
            // ties go to the lowest APIC index.
            LocalApic? chosen = null;
            foreach (var apic in snapshot)
            {
                if (apic.Matches(message) && (chosen == null || apic.ArbitrationPriority < chosen.ArbitrationPriority))
                {
                    chosen = apic;
                }
            }

            chosen?.Accept(message);
            return;
        }

        foreach (var apic in snapshot)
        {
            bool target = message.Shorthand switch
            {
                ApicDestinationShorthand.Self => apic == source,
                ApicDestinationShorthand.AllIncludingSelf => true,
                ApicDestinationShorthand.AllExcludingSelf => apic != source,
                _ => apic.Matches(message),
            };
            if (target)
            {
                apic.Accept(message);
            }
        }
    }

    /// <summary>An MSI write to 0xFEEx_xxxx (Intel SDM 3A §11.11): destination and mode in the address, vector and delivery in the data.</summary>
    public void DeliverMessageSignalled(ulong address, uint data)
    {
        const ulong MsiWindowMask = 0xFFF0_0000;
        const ulong MsiWindow = 0xFEE0_0000;
        if ((address & MsiWindowMask) != MsiWindow)
        {
            return;
        }

        var mode = (ApicDeliveryMode)((data >> 8) & 0x7);
        bool level = (data & (1u << 15)) != 0;
        var message = new InterruptMessage(
            Vector: (int)(data & 0xFF),
            DeliveryMode: mode,
            LogicalDestination: (address & (1u << 2)) != 0,
            Destination: (uint)(address >> 12) & 0xFF,
            LevelTriggered: level,
            Assert: !level || (data & (1u << 14)) != 0);
        Deliver(message);
    }

    public void BroadcastEndOfInterrupt(int vector) => EndOfInterruptListener?.EndOfInterrupt(vector);

    /// <summary>The PIC's output changed: wake the first processor whose APIC passes PIC interrupts through.</summary>
    public void OnExternalInterruptOutputChanged(bool asserted)
    {
        if (!asserted)
        {
            return;
        }

        foreach (var apic in apics)
        {
            if (apic.AcceptsExternalInterrupts)
            {
                apic.SignalExternalInterrupt();
                return;
            }
        }
    }
}
