using Vessel.Core.Accel.State;

namespace Vessel.X86.IrqChip;

/// <summary>
/// One 8259A programmable interrupt controller (Intel 8259A datasheet), the register model QEMU's i8259.c and KVM's
/// i8259.c share: IRR/ISR/IMR, rotating priority, ICW1-4, OCW1-3, auto-EOI, special mask and poll. Not thread-safe:
/// <see cref="DualPic"/> serializes access to both chips.
/// </summary>
internal sealed class Pic8259(bool master, byte elcrMask)
{
    private int lastLevels;
    private int initState;
    private bool initNeedsIcw4;
    private bool singleMode;

    public byte InterruptRequest { get; private set; }

    public byte InService { get; private set; }

    public byte InterruptMask { get; private set; }

    /// <summary>ELCR: a 1 makes the pin level-triggered.</summary>
    public byte EdgeLevelControl { get; private set; }

    public int VectorBase { get; private set; }

    public bool IsMaster => master;

    private int priorityAdd;
    private bool readInService;
    private bool poll;
    private bool specialMask;
    private bool autoEoi;
    private bool rotateOnAutoEoi;
    private bool specialFullyNested;

    public void Reset()
    {
        ResetForInitialization();
        EdgeLevelControl = 0;
    }

    private void ResetForInitialization()
    {
        lastLevels = 0;
        InterruptRequest &= EdgeLevelControl;
        InterruptMask = 0;
        InService = 0;
        priorityAdd = 0;
        VectorBase = 0;
        readInService = false;
        poll = false;
        specialMask = false;
        initState = 0;
        autoEoi = false;
        rotateOnAutoEoi = false;
        specialFullyNested = false;
        initNeedsIcw4 = false;
        singleMode = false;
    }

    public PicChipState GetState() => new()
    {
        LastLevels = (byte)lastLevels,
        InterruptRequest = InterruptRequest,
        InterruptMask = InterruptMask,
        InService = InService,
        PriorityAdd = (byte)priorityAdd,
        VectorBase = (byte)VectorBase,
        ReadInService = readInService,
        Poll = poll,
        SpecialMask = specialMask,
        InitState = (byte)initState,
        AutoEoi = autoEoi,
        RotateOnAutoEoi = rotateOnAutoEoi,
        SpecialFullyNested = specialFullyNested,
        NeedsIcw4 = initNeedsIcw4,
        SingleMode = singleMode,
        EdgeLevelControl = EdgeLevelControl,
    };

    /// <summary>Loads a validated <see cref="PicChipState"/>; ELCR bits this chip cannot set (KVM's elcr_mask) are dropped.</summary>
    public void SetState(PicChipState state)
    {
        lastLevels = state.LastLevels;
        InterruptRequest = state.InterruptRequest;
        InterruptMask = state.InterruptMask;
        InService = state.InService;
        priorityAdd = state.PriorityAdd & 7;
        VectorBase = state.VectorBase & 0xF8;
        readInService = state.ReadInService;
        poll = state.Poll;
        specialMask = state.SpecialMask;
        initState = state.InitState & 3;
        autoEoi = state.AutoEoi;
        rotateOnAutoEoi = state.RotateOnAutoEoi;
        specialFullyNested = state.SpecialFullyNested;
        initNeedsIcw4 = state.NeedsIcw4;
        singleMode = state.SingleMode;
        SetEdgeLevelControl(state.EdgeLevelControl);
    }

    public void SetEdgeLevelControl(byte value) => EdgeLevelControl = (byte)(value & elcrMask);

    /// <summary>Drives input <paramref name="pin"/>: edge pins latch IRR on a rising edge, level pins follow the line.</summary>
    public void SetLevel(int pin, bool asserted)
    {
        int mask = 1 << pin;
        if ((EdgeLevelControl & mask) != 0)
        {
            InterruptRequest = asserted ? (byte)(InterruptRequest | mask) : (byte)(InterruptRequest & ~mask);
            lastLevels = asserted ? lastLevels | mask : lastLevels & ~mask;
            return;
        }

        if (asserted)
        {
            if ((lastLevels & mask) == 0)
            {
                InterruptRequest |= (byte)mask;
            }

            lastLevels |= mask;
        }
        else
        {
            lastLevels &= ~mask;
        }
    }

    /// <summary>The highest-priority requested pin that may interrupt what is in service, or -1.</summary>
    public int PendingPin()
    {
        int priority = Priority(InterruptRequest & ~InterruptMask);
        if (priority == 8)
        {
            return -1;
        }

        int inService = InService;
        if (specialMask)
        {
            inService &= ~InterruptMask;
        }

        // Special fully nested mode: the slave's cascade input may interrupt a slave interrupt in service.
        if (specialFullyNested && master)
        {
            inService &= ~(1 << 2);
        }

        return priority < Priority(inService) ? (priority + priorityAdd) & 7 : -1;
    }

    /// <summary>The INTA cycle for <paramref name="pin"/>: into service (unless auto-EOI), and an edge request is consumed.</summary>
    public void Acknowledge(int pin)
    {
        if (autoEoi)
        {
            if (rotateOnAutoEoi)
            {
                priorityAdd = (pin + 1) & 7;
            }
        }
        else
        {
            InService |= (byte)(1 << pin);
        }

        if ((EdgeLevelControl & (1 << pin)) == 0)
        {
            InterruptRequest &= (byte)~(1 << pin);
        }
    }

    public byte Read(int address)
    {
        if (poll)
        {
            // OCW3 poll command: the next read returns 0x80 | level of the highest request, acknowledging it.
            poll = false;
            int pin = PendingPin();
            if (pin < 0)
            {
                return 0;
            }

            Acknowledge(pin);
            return (byte)(0x80 | pin);
        }

        if (address == 0)
        {
            return readInService ? InService : InterruptRequest;
        }

        return InterruptMask;
    }

    public void Write(int address, byte value)
    {
        if (address == 0)
        {
            WriteCommand(value);
            return;
        }

        switch (initState)
        {
            case 0:
                // OCW1: the interrupt mask.
                InterruptMask = value;
                break;
            case 1:
                // ICW2: vector base, low three bits ignored in 8086 mode.
                VectorBase = value & 0xF8;
                initState = singleMode ? (initNeedsIcw4 ? 3 : 0) : 2;
                break;
            case 2:
                // ICW3: cascade wiring, fixed on a PC (slave on master IRQ 2).
                initState = initNeedsIcw4 ? 3 : 0;
                break;
            default:
                // ICW4: special fully nested mode (bit 4) and auto-EOI (bit 1).
                specialFullyNested = (value & 0x10) != 0;
                autoEoi = (value & 0x02) != 0;
                initState = 0;
                break;
        }
    }

    private void WriteCommand(byte value)
    {
        if ((value & 0x10) != 0)
        {
            // ICW1: starts initialization. LTIM (bit 3) is ignored: the ELCR decides trigger modes on a PC.
            ResetForInitialization();
            initState = 1;
            initNeedsIcw4 = (value & 0x01) != 0;
            singleMode = (value & 0x02) != 0;
            return;
        }

        if ((value & 0x08) != 0)
        {
            // OCW3.
            if ((value & 0x04) != 0)
            {
                poll = true;
            }

            if ((value & 0x02) != 0)
            {
                readInService = (value & 0x01) != 0;
            }

            if ((value & 0x40) != 0)
            {
                specialMask = (value & 0x20) != 0;
            }

            return;
        }

        // OCW2: R, SL, EOI in bits 7:5, level in 2:0.
        int command = value >> 5;
        int level = value & 7;
        switch (command)
        {
            case 0b000:
            case 0b100:
                rotateOnAutoEoi = command == 0b100;
                break;
            case 0b001:
            case 0b101:
                {
                    int priority = Priority(InService);
                    if (priority != 8)
                    {
                        int pin = (priority + priorityAdd) & 7;
                        InService &= (byte)~(1 << pin);
                        if (command == 0b101)
                        {
                            priorityAdd = (pin + 1) & 7;
                        }
                    }

                    break;
                }

            case 0b011:
                InService &= (byte)~(1 << level);
                break;
            case 0b110:
                priorityAdd = (level + 1) & 7;
                break;
            case 0b111:
                InService &= (byte)~(1 << level);
                priorityAdd = (level + 1) & 7;
                break;
        }
    }

    /// <summary>Priority (0 highest) of the first set bit in rotated order, 8 when none.</summary>
    private int Priority(int mask)
    {
        if ((mask & 0xFF) == 0)
        {
            return 8;
        }

        int priority = 0;
        while ((mask & (1 << ((priority + priorityAdd) & 7))) == 0)
        {
            priority++;
        }

        return priority;
    }
}
