using Vessel.Core.Accel.State;
using Vessel.X86.Apic;

namespace Vessel.X86.IrqChip;

/// <summary>
/// The PC's cascaded 8259 pair: master at 0x20/0x21, slave at 0xA0/0xA1 on master IRQ 2, and the edge/level control
/// registers at 0x4D0/0x4D1. Its INTR output reaches the processor through LINT0 in ExtINT mode; the vector is read
/// from here at the INTA cycle (<see cref="Acknowledge"/>). Thread-safe: lines, ports and INTA may come from any thread.
/// </summary>
public sealed class DualPic : IExternalInterruptSource
{
    public const ushort MasterCommandPort = 0x20;
    public const ushort MasterDataPort = 0x21;
    public const ushort SlaveCommandPort = 0xA0;
    public const ushort SlaveDataPort = 0xA1;
    public const ushort MasterEdgeLevelPort = 0x4D0;
    public const ushort SlaveEdgeLevelPort = 0x4D1;

    private const int CascadePin = 2;

    private readonly Lock sync = new();

    // KVM's elcr_mask: IRQ 0, 1, 2, 8 and 13 are always edge-triggered.
    private readonly Pic8259 masterChip = new(master: true, elcrMask: 0xF8);
    private readonly Pic8259 slaveChip = new(master: false, elcrMask: 0xDE);
    private readonly Action<bool> outputChanged;
    private bool output;

    /// <param name="outputChanged">Told of every change of INTR (called inside the PIC's lock: must not call back into it).</param>
    public DualPic(Action<bool> outputChanged)
    {
        this.outputChanged = outputChanged;
        masterChip.Reset();
        slaveChip.Reset();
    }

    /// <summary>Master vector base a PC BIOS programs (IRQ 0-7 at INT 08h-0Fh).</summary>
    public const byte FirmwareMasterVectorBase = 0x08;

    /// <summary>Slave vector base a PC BIOS programs (IRQ 8-15 at INT 70h-77h).</summary>
    public const byte FirmwareSlaveVectorBase = 0x70;

    /// <summary>
    /// Leaves the pair as PC firmware hands it to a boot loader (SeaBIOS on QEMU's PC): vectors 08h and 70h, cascade on
    /// IRQ 2, and only the lines the BIOS itself serves unmasked (timer, keyboard, cascade; RTC and mouse). There is no
    /// firmware in front of a multiboot or Linux guest here, but real-mode code (kvm-unit-tests' realmode, say) counts on
    /// that state: hooking INT 73h for IRQ 11 must not see it arrive at INT 03h.
    /// </summary>
    public void InitializeAsFirmware()
    {
        foreach (var (command, data, vectorBase, cascade, mask) in new[]
        {
            (MasterCommandPort, MasterDataPort, FirmwareMasterVectorBase, (byte)(1 << CascadePin), (byte)0xF8),
            (SlaveCommandPort, SlaveDataPort, FirmwareSlaveVectorBase, (byte)CascadePin, (byte)0xEE),
        })
        {
            WritePort(command, 0x11); // ICW1: edge-triggered, cascade mode, ICW4 follows.
            WritePort(data, vectorBase); // ICW2
            WritePort(data, cascade); // ICW3
            WritePort(data, 0x01); // ICW4: 8086 mode, normal EOI.
            WritePort(data, mask); // OCW1
        }
    }

    public bool OutputAsserted
    {
        get
        {
            lock (sync)
            {
                return output;
            }
        }
    }

    /// <summary>Drives ISA IRQ <paramref name="irq"/> (0-15).</summary>
    public void SetIrq(int irq, bool asserted)
    {
        if ((uint)irq >= 16)
        {
            return;
        }

        lock (sync)
        {
            (irq < 8 ? masterChip : slaveChip).SetLevel(irq & 7, asserted);
            Update();
        }
    }

    public int Acknowledge()
    {
        lock (sync)
        {
            int vector;
            int pin = masterChip.PendingPin();
            if (pin < 0)
            {
                // Nothing left by the INTA cycle: the master answers with its IRQ 7 vector (spurious).
                vector = masterChip.VectorBase + 7;
            }
            else if (pin == CascadePin)
            {
                int slavePin = slaveChip.PendingPin();
                if (slavePin >= 0)
                {
                    slaveChip.Acknowledge(slavePin);
                    vector = slaveChip.VectorBase + slavePin;
                }
                else
                {
                    vector = slaveChip.VectorBase + 7;
                }

                masterChip.Acknowledge(pin);
            }
            else
            {
                masterChip.Acknowledge(pin);
                vector = masterChip.VectorBase + pin;
            }

            Update();
            return vector;
        }
    }

    /// <summary>Whether this PIC owns <paramref name="port"/>.</summary>
    public static bool ClaimsPort(ushort port) =>
        port is MasterCommandPort or MasterDataPort or SlaveCommandPort or SlaveDataPort or MasterEdgeLevelPort or SlaveEdgeLevelPort;

    public byte ReadPort(ushort port)
    {
        lock (sync)
        {
            byte value = port switch
            {
                MasterCommandPort or MasterDataPort => masterChip.Read(port & 1),
                SlaveCommandPort or SlaveDataPort => slaveChip.Read(port & 1),
                MasterEdgeLevelPort => masterChip.EdgeLevelControl,
                SlaveEdgeLevelPort => slaveChip.EdgeLevelControl,
                _ => 0xFF,
            };
            Update();
            return value;
        }
    }

    public void WritePort(ushort port, byte value)
    {
        lock (sync)
        {
            switch (port)
            {
                case MasterCommandPort:
                case MasterDataPort:
                    masterChip.Write(port & 1, value);
                    break;
                case SlaveCommandPort:
                case SlaveDataPort:
                    slaveChip.Write(port & 1, value);
                    break;
                case MasterEdgeLevelPort:
                    masterChip.SetEdgeLevelControl(value);
                    break;
                case SlaveEdgeLevelPort:
                    slaveChip.SetEdgeLevelControl(value);
                    break;
            }

            Update();
        }
    }

    public PicState GetState()
    {
        lock (sync)
        {
            return new PicState { Master = masterChip.GetState(), Slave = slaveChip.GetState() };
        }
    }

    /// <summary>Loads both chips and raises or drops INTR to match them.</summary>
    public void SetState(PicState state)
    {
        lock (sync)
        {
            masterChip.SetState(state.Master);
            slaveChip.SetState(state.Slave);
            output = masterChip.PendingPin() >= 0;
            outputChanged(output);
        }
    }

    /// <summary>IRR, ISR and IMR of one chip, for tests and diagnostics.</summary>
    public (byte Request, byte InService, byte Mask) State(bool master)
    {
        lock (sync)
        {
            var chip = master ? masterChip : slaveChip;
            return (chip.InterruptRequest, chip.InService, chip.InterruptMask);
        }
    }

    private void Update()
    {
        // KVM's pic_update_irq: the slave's output reaches master IRQ 2 as a pulse.
        if (slaveChip.PendingPin() >= 0)
        {
            masterChip.SetLevel(CascadePin, true);
            masterChip.SetLevel(CascadePin, false);
        }

        bool asserted = masterChip.PendingPin() >= 0;
        if (asserted != output)
        {
            output = asserted;
            outputChanged(asserted);
        }
        else if (asserted)
        {
            // A new, higher request behind an already-raised INTR still has to wake the processor.
            outputChanged(true);
        }
    }
}
