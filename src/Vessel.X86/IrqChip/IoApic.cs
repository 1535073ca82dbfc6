using Vessel.Core.Accel.State;
using Vessel.Core.Bus;
using Vessel.X86.Apic;

namespace Vessel.X86.IrqChip;

/// <summary>
/// The I/O APIC (82093AA datasheet), with KVM's ioapic.c behaviour: 24 pins, IOREGSEL at 0x00 and IOWIN at 0x10,
/// version 0x11, every pin masked after reset; edge pins fire on a rising edge while unmasked, level pins while the line
/// is high, unmasked and remote IRR is clear. Remote IRR is cleared by the EOI a local APIC broadcasts.
/// </summary>
public sealed class IoApic : IBusDevice, IEndOfInterruptListener
{
    public const ulong DefaultBase = 0xFEC0_0000;

    /// <summary>The window KVM claims (IOAPIC_MEM_LENGTH).</summary>
    public const int WindowSize = 0x100;

    public const int PinCount = 24;

    /// <summary>Version register: version 0x11, maximum redirection entry 23.</summary>
    public const uint VersionValue = ((PinCount - 1) << 16) | 0x11;

    private const int RegisterSelect = 0x00;
    private const int RegisterWindow = 0x10;
    private const int IdRegister = 0x00;
    private const int VersionRegister = 0x01;
    private const int ArbitrationRegister = 0x02;
    private const int RedirectionTableBase = 0x10;

    private readonly Lock sync = new();
    private readonly ApicBus bus;
    private readonly ulong[] redirection = new ulong[PinCount];
    private uint lineLevels;
    private uint select;
    private uint id;

    public IoApic(ApicBus bus)
    {
        this.bus = bus;
        Reset();
    }

    public void Reset()
    {
        lock (sync)
        {
            for (int pin = 0; pin < PinCount; pin++)
            {
                redirection[pin] = RedirectionEntryBits.Masked;
            }

            lineLevels = 0;
            select = 0;
            id = 0;
        }
    }

    public IoApicState GetState()
    {
        lock (sync)
        {
            var state = new IoApicState { Id = id, RegisterSelect = select, LineLevels = lineLevels };
            redirection.CopyTo(state.RedirectionTable, 0);
            return state;
        }
    }

    /// <summary>Loads a validated <see cref="IoApicState"/>; nothing is delivered until a line changes or an EOI arrives, as on KVM.</summary>
    public void SetState(IoApicState state)
    {
        lock (sync)
        {
            id = state.Id & 0xF;
            select = state.RegisterSelect & 0xFF;
            lineLevels = state.LineLevels & ((1u << PinCount) - 1);
            state.RedirectionTable.AsSpan(0, PinCount).CopyTo(redirection);
        }
    }

    public ulong RedirectionEntry(int pin)
    {
        lock (sync)
        {
            return redirection[pin];
        }
    }

    /// <summary>Sets the level of input <paramref name="pin"/> (already active-high: KVM's ioapic ignores INTPOL too).</summary>
    public void SetLevel(int pin, bool asserted)
    {
        if ((uint)pin >= PinCount)
        {
            return;
        }

        InterruptMessage? message = null;
        lock (sync)
        {
            uint mask = 1u << pin;
            bool wasAsserted = (lineLevels & mask) != 0;
            lineLevels = asserted ? lineLevels | mask : lineLevels & ~mask;
            ulong entry = redirection[pin];
            bool level = (entry & RedirectionEntryBits.LevelTriggered) != 0;
            if (asserted && (level || !wasAsserted))
            {
                message = Service(pin);
            }
        }

        if (message is { } m)
        {
            bus.Deliver(m);
        }
    }

    public void EndOfInterrupt(int vector)
    {
        Span<int> redeliver = stackalloc int[PinCount];
        int count = 0;
        lock (sync)
        {
            for (int pin = 0; pin < PinCount; pin++)
            {
                ulong entry = redirection[pin];
                if ((int)(entry & RedirectionEntryBits.VectorMask) != vector || (entry & RedirectionEntryBits.RemoteIrr) == 0)
                {
                    continue;
                }

                redirection[pin] = entry & ~RedirectionEntryBits.RemoteIrr;
                if ((lineLevels & (1u << pin)) != 0)
                {
                    redeliver[count++] = pin;
                }
            }
        }

        for (int i = 0; i < count; i++)
        {
            InterruptMessage? message;
            lock (sync)
            {
                message = Service(redeliver[i]);
            }

            if (message is { } m)
            {
                bus.Deliver(m);
            }
        }
    }

    public void Read(ulong offset, Span<byte> data)
    {
        uint value;
        lock (sync)
        {
            value = offset switch
            {
                RegisterSelect => select,
                RegisterWindow => ReadIndirect(),
                _ => 0,
            };
        }

        for (int i = 0; i < data.Length; i++)
        {
            data[i] = i < 4 ? (byte)(value >> (8 * i)) : (byte)0;
        }
    }

    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        uint value = 0;
        for (int i = 0; i < Math.Min(data.Length, 4); i++)
        {
            value |= (uint)data[i] << (8 * i);
        }

        InterruptMessage? message = null;
        lock (sync)
        {
            switch (offset)
            {
                case RegisterSelect:
                    select = value & 0xFF;
                    break;
                case RegisterWindow:
                    message = WriteIndirect(value);
                    break;
            }
        }

        if (message is { } m)
        {
            bus.Deliver(m);
        }
    }

    private uint ReadIndirect()
    {
        switch (select)
        {
            case IdRegister:
            case ArbitrationRegister:
                return id << 24;
            case VersionRegister:
                return VersionValue;
        }

        int index = (int)select - RedirectionTableBase;
        if (index < 0 || index >= PinCount * 2)
        {
            return 0xFFFF_FFFF;
        }

        ulong entry = redirection[index >> 1];
        return (index & 1) == 0 ? (uint)entry : (uint)(entry >> 32);
    }

    private InterruptMessage? WriteIndirect(uint value)
    {
        if (select == IdRegister)
        {
            id = (value >> 24) & 0xF;
            return null;
        }

        int index = (int)select - RedirectionTableBase;
        if (index < 0 || index >= PinCount * 2)
        {
            return null;
        }

        int pin = index >> 1;
        ulong entry = redirection[pin];
        if ((index & 1) == 0)
        {
            ulong low = (value & ~RedirectionEntryBits.ReadOnly & 0xFFFF_FFFF) | (entry & RedirectionEntryBits.ReadOnly);
            entry = (entry & 0xFFFF_FFFF_0000_0000UL) | low;
            if ((entry & RedirectionEntryBits.LevelTriggered) == 0)
            {
                // KVM: an edge-triggered entry has no remote IRR.
                entry &= ~RedirectionEntryBits.RemoteIrr;
            }
        }
        else
        {
            entry = (entry & 0xFFFF_FFFFUL) | ((ulong)value << 32);
        }

        redirection[pin] = entry;

        // KVM's ioapic_write_indirect: unmasking a level-triggered pin whose line is high delivers it now.
        bool levelPending = (entry & RedirectionEntryBits.LevelTriggered) != 0 && (lineLevels & (1u << pin)) != 0;
        return levelPending ? Service(pin) : null;
    }

    /// <summary>Builds the message for <paramref name="pin"/> if it may be delivered, marking remote IRR for level pins.</summary>
    private InterruptMessage? Service(int pin)
    {
        ulong entry = redirection[pin];
        bool level = (entry & RedirectionEntryBits.LevelTriggered) != 0;
        if ((entry & RedirectionEntryBits.Masked) != 0 || (level && (entry & RedirectionEntryBits.RemoteIrr) != 0))
        {
            return null;
        }

        if (level)
        {
            redirection[pin] = entry | RedirectionEntryBits.RemoteIrr;
        }

        return new InterruptMessage(
            Vector: (int)(entry & RedirectionEntryBits.VectorMask),
            DeliveryMode: (ApicDeliveryMode)((entry & RedirectionEntryBits.DeliveryModeMask) >> RedirectionEntryBits.DeliveryModeShift),
            LogicalDestination: (entry & RedirectionEntryBits.LogicalDestination) != 0,
            Destination: (uint)(entry >> RedirectionEntryBits.DestinationShift),
            LevelTriggered: level);
    }
}
