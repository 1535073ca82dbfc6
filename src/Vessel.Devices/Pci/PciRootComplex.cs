using System.Buffers.Binary;
using Vessel.Core.Bus;
using Vessel.Core.Logging;
using Vessel.Core.Snapshots;

namespace Vessel.Devices.Pci;

/// <summary>
/// PCI segment 0, bus 0: up to 32 single-function devices, reached through configuration mechanism #1 (the address port
/// 0xCF8 and the data window 0xCFC-0xCFF, PCI Local Bus 3.0 §3.2.2.3.2) and through ECAM (PCI Express Base 4.0 §7.2.2, the
/// window the MCFG table describes). It maps each function's BAR windows on the machine's buses where the guest puts them.
/// </summary>
public sealed class PciRootComplex : IPciBarHost, IStateful
{
    public const ushort ConfigurationAddressPort = 0xCF8;
    public const ushort ConfigurationDataPort = 0xCFC;
    public const int SlotCount = 32;

    /// <summary>ECAM bytes per bus: 32 devices x 8 functions x 4 KiB.</summary>
    public const ulong EcamBusSize = 1UL << 20;

    /// <summary>CONFIG_ADDRESS bit 31: the data window forwards a configuration cycle.</summary>
    private const uint ConfigurationEnable = 1u << 31;

    private readonly object gate = new();
    private readonly PciFunction?[] slots = new PciFunction?[SlotCount];
    private readonly MmioBus mmio;
    private readonly IoPortBus ports;
    private readonly IMachineLog log;
    private readonly HashSet<(PciFunction, int)> reportedConflicts = [];
    private uint configurationAddress;

    public PciRootComplex(MmioBus mmio, IoPortBus ports, IMachineLog log)
    {
        this.mmio = mmio;
        this.ports = ports;
        this.log = log;
        AddressPort = new ConfigurationAddressRegister(this);
        DataWindow = new ConfigurationDataWindow(this);
        Ecam = new EnhancedConfigurationWindow(this);
        Attach(0, new PciHostBridge());
    }

    /// <summary>Port 0xCF8, 4 bytes.</summary>
    public IBusDevice AddressPort { get; }

    /// <summary>Ports 0xCFC-0xCFF.</summary>
    public IBusDevice DataWindow { get; }

    /// <summary>The ECAM window for bus 0 (<see cref="EcamBusSize"/> bytes).</summary>
    public IBusDevice Ecam { get; }

    public PciFunction? this[int slot] => slots[slot];

    public int StateVersion => 1;

    /// <summary>The CONFIG_ADDRESS latch at 0xCF8; each function saves its own configuration space.</summary>
    public void SaveState(StateWriter writer)
    {
        lock (gate)
        {
            writer.WriteUInt32(configurationAddress);
        }
    }

    public void RestoreState(StateReader reader, int version)
    {
        uint address = reader.ReadUInt32();
        lock (gate)
        {
            configurationAddress = address & 0x80FF_FFFC;
        }
    }

    /// <summary>Puts <paramref name="function"/> in <paramref name="slot"/> (function 0 of that device).</summary>
    public void Attach(int slot, PciFunction function)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)slot, (uint)SlotCount, nameof(slot));
        lock (gate)
        {
            if (slots[slot] != null)
            {
                throw new InvalidOperationException($"PCI slot {slot} is already taken.");
            }

            function.BarHost = this;
            slots[slot] = function;
        }
    }

    public ulong? PlaceBar(PciFunction function, PciBar bar, ulong? address)
    {
        AddressBus bus = bar.Kind == PciBarKind.Io ? ports : mmio;
        string name = $"PCI {function.Identity.VendorId:x4}:{function.Identity.DeviceId:x4} BAR{bar.Index}";
        if (address is not { } wanted)
        {
            if (bar.MappedAddress is { } old)
            {
                bus.Unregister(old, bar.Registers);
            }

            return null;
        }

        bool placed;
        BusRange conflict;
        if (bar.MappedAddress is { } current)
        {
            placed = bus.TryMove(current, wanted, bar.Registers, out conflict);
            if (!placed)
            {
                bus.Unregister(current, bar.Registers);
            }
        }
        else
        {
            placed = bus.TryRegister(wanted, bar.Size, bar.Registers, name, out conflict);
        }

        if (!placed)
        {
            lock (reportedConflicts)
            {
                if (reportedConflicts.Add((function, bar.Index)))
                {
                    log.Warn($"{name}: the guest placed it at 0x{wanted:x}, over {conflict.Name}; it stays unmapped (logged once).");
                }
            }

            return null;
        }

        return wanted;
    }

    private void ReadConfiguration(int slot, int function, int offset, Span<byte> data)
    {
        var device = function == 0 ? slots[slot] : null;
        if (device == null)
        {
            // No device answers: the host bridge ends the cycle with all ones (a vendor ID of 0xFFFF means "nobody here").
            data.Fill(0xFF);
            return;
        }

        device.ReadConfiguration(offset, data);
    }

    private void WriteConfiguration(int slot, int function, int offset, ReadOnlySpan<byte> data)
    {
        if (function == 0)
        {
            slots[slot]?.WriteConfiguration(offset, data);
        }
    }

    private sealed class ConfigurationAddressRegister(PciRootComplex root) : IBusDevice
    {
        public void Read(ulong offset, Span<byte> data)
        {
            Span<byte> value = stackalloc byte[4];
            lock (root.gate)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(value, root.configurationAddress);
            }

            data.Fill(0xFF);
            if (offset < 4)
            {
                value[(int)offset..Math.Min(4, (int)offset + data.Length)].CopyTo(data);
            }
        }

        public void Write(ulong offset, ReadOnlySpan<byte> data)
        {
            // Only a full 32-bit write at 0xCF8 latches an address; byte writes there belong to other chipset registers.
            if (offset != 0 || data.Length != 4)
            {
                return;
            }

            lock (root.gate)
            {
                root.configurationAddress = BinaryPrimitives.ReadUInt32LittleEndian(data) & 0x80FF_FFFC;
            }
        }
    }

    private sealed class ConfigurationDataWindow(PciRootComplex root) : IBusDevice
    {
        public void Read(ulong offset, Span<byte> data)
        {
            if (!TryDecode(offset, data.Length, out int slot, out int function, out int register))
            {
                data.Fill(0xFF);
                return;
            }

            root.ReadConfiguration(slot, function, register, data);
        }

        public void Write(ulong offset, ReadOnlySpan<byte> data)
        {
            if (TryDecode(offset, data.Length, out int slot, out int function, out int register))
            {
                root.WriteConfiguration(slot, function, register, data);
            }
        }

        private bool TryDecode(ulong offset, int length, out int slot, out int function, out int register)
        {
            uint address;
            lock (root.gate)
            {
                address = root.configurationAddress;
            }

            slot = (int)((address >> 11) & 0x1F);
            function = (int)((address >> 8) & 0x7);
            register = (int)(address & 0xFC) + (int)offset;
            int bus = (int)((address >> 16) & 0xFF);
            return (address & ConfigurationEnable) != 0 && bus == 0 && offset + (ulong)length <= 4;
        }
    }

    private sealed class EnhancedConfigurationWindow(PciRootComplex root) : IBusDevice
    {
        public void Read(ulong offset, Span<byte> data)
        {
            if (!Decode(offset, data.Length, out int slot, out int function, out int register))
            {
                data.Fill(0xFF);
                return;
            }

            root.ReadConfiguration(slot, function, register, data);
        }

        public void Write(ulong offset, ReadOnlySpan<byte> data)
        {
            if (Decode(offset, data.Length, out int slot, out int function, out int register))
            {
                root.WriteConfiguration(slot, function, register, data);
            }
        }

        /// <summary>ECAM offset = device &lt;&lt; 15 | function &lt;&lt; 12 | register; an access may not cross its 4 KiB function.</summary>
        private static bool Decode(ulong offset, int length, out int slot, out int function, out int register)
        {
            slot = (int)((offset >> 15) & 0x1F);
            function = (int)((offset >> 12) & 0x7);
            register = (int)(offset & 0xFFF);
            return offset < EcamBusSize && register + length <= PciConfigurationRegister.ExtendedSize;
        }
    }
}
