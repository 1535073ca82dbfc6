using System.Buffers.Binary;
using Vessel.Core.Interrupts;
using Vessel.Core.Snapshots;

namespace Vessel.Devices.Pci;

/// <summary>
/// A PCI function with a type 0 header: configuration space with per-bit write masks, up to six BARs the guest sizes and
/// places, a capabilities list, and an INTx pin. Subclasses add capabilities and registers; the root complex calls
/// <see cref="ReadConfiguration"/> and <see cref="WriteConfiguration"/> from whichever vCPU made the access.
/// </summary>
public abstract class PciFunction : IStateful
{
    /// <summary>INTA# in the Interrupt Pin register (§6.2.4).</summary>
    public const byte InterruptPinA = 1;

    private readonly byte[] configuration = new byte[PciConfigurationRegister.ExtendedSize];
    private readonly byte[] writableBits = new byte[PciConfigurationRegister.ExtendedSize];
    private readonly PciBar?[] bars = new PciBar?[PciConfigurationRegister.BaseAddressCount];
    private int lastCapabilityNextPointer = PciConfigurationRegister.CapabilitiesPointer;
    private int nextCapabilityOffset = PciConfigurationRegister.HeaderEnd;
    private IInterruptLine? interruptLine;
    private bool interruptAsserted;

    protected PciFunction(PciFunctionIdentity identity)
    {
        Identity = identity;
        SetWord(PciConfigurationRegister.VendorId, identity.VendorId);
        SetWord(PciConfigurationRegister.DeviceId, identity.DeviceId);
        configuration[PciConfigurationRegister.RevisionId] = identity.RevisionId;
        configuration[PciConfigurationRegister.ProgrammingInterface] = identity.ProgrammingInterface;
        configuration[PciConfigurationRegister.SubClass] = identity.SubClass;
        configuration[PciConfigurationRegister.BaseClass] = identity.BaseClass;
        SetWord(PciConfigurationRegister.SubsystemVendorId, identity.SubsystemVendorId);
        SetWord(PciConfigurationRegister.SubsystemId, identity.SubsystemId);
        SetWord(PciConfigurationRegister.Command, 0, writable: (ushort)(PciCommand.IoSpace | PciCommand.MemorySpace | PciCommand.BusMaster | PciCommand.InterruptDisable));
        writableBits[PciConfigurationRegister.CacheLineSize] = 0xFF;
        writableBits[PciConfigurationRegister.LatencyTimer] = 0xFF;
        writableBits[PciConfigurationRegister.InterruptLine] = 0xFF;
    }

    public PciFunctionIdentity Identity { get; }

    /// <summary>Where BAR windows get mapped; set by the root complex when the function is attached.</summary>
    public IPciBarHost? BarHost { get; internal set; }

    public IReadOnlyList<PciBar?> Bars => bars;

    public PciCommand Command => (PciCommand)ReadWord(PciConfigurationRegister.Command);

    /// <summary>Serialises configuration accesses with the subclass's own register state.</summary>
    protected object ConfigurationLock { get; } = new();

    /// <summary>Wires INTA# to <paramref name="line"/> (the root complex routes it to a GSI, as the DSDT's _PRT says).</summary>
    public void ConnectInterruptPin(IInterruptLine line, byte gsiForInterruptLineRegister)
    {
        interruptLine = line;
        configuration[PciConfigurationRegister.InterruptPin] = InterruptPinA;
        configuration[PciConfigurationRegister.InterruptLine] = gsiForInterruptLineRegister;
    }

    public virtual int StateVersion => 1;

    /// <summary>
    /// Configuration space (command, BARs where the guest placed them, interrupt line, capability registers such as the
    /// MSI-X message control) and the INTx level. A function with more state writes it after this, in its own override.
    /// </summary>
    public virtual void SaveState(StateWriter writer) => SaveConfigurationState(writer);

    public virtual void RestoreState(StateReader reader, int version) => RestoreConfigurationState(reader);

    protected void SaveConfigurationState(StateWriter writer)
    {
        lock (ConfigurationLock)
        {
            writer.WriteBytes(configuration);
            writer.WriteBool(interruptAsserted);
        }
    }

    /// <summary>
    /// Takes the saved configuration space after checking it belongs to this function: every read-only byte (identity,
    /// capability layout, BAR type bits) must match, or the snapshot describes a different device. Then maps the BARs where
    /// the guest had them and tells the function its configuration changed.
    /// </summary>
    protected void RestoreConfigurationState(StateReader reader)
    {
        lock (ConfigurationLock)
        {
            var saved = reader.ReadBytes();
            if (saved.Length != configuration.Length)
            {
                throw reader.Malformed($"the configuration space is {saved.Length} bytes, not {configuration.Length}");
            }

            for (int at = 0; at < configuration.Length; at++)
            {
                bool statusRegister = at is >= PciConfigurationRegister.Status and < PciConfigurationRegister.Status + 2;
                if (!statusRegister && ((saved[at] ^ configuration[at]) & ~writableBits[at]) != 0)
                {
                    throw reader.Malformed($"configuration byte 0x{at:x} is 0x{saved[at]:x2} where this {Identity.VendorId:x4}:{Identity.DeviceId:x4} function has 0x{configuration[at]:x2}: the snapshot describes a different device");
                }
            }

            saved.CopyTo(configuration);
            interruptAsserted = reader.ReadBool();
            UpdateBarWindows();
            OnConfigurationWritten(0, configuration.Length);
        }
    }

    public void ReadConfiguration(int offset, Span<byte> data)
    {
        lock (ConfigurationLock)
        {
            for (int index = 0; index < data.Length; index++)
            {
                int at = offset + index;
                data[index] = (uint)at < (uint)configuration.Length ? configuration[at] : (byte)0xFF;
            }
        }
    }

    public void WriteConfiguration(int offset, ReadOnlySpan<byte> data)
    {
        lock (ConfigurationLock)
        {
            bool barsTouched = false;
            for (int index = 0; index < data.Length; index++)
            {
                int at = offset + index;
                if ((uint)at >= (uint)configuration.Length)
                {
                    break;
                }

                byte mask = writableBits[at];
                configuration[at] = (byte)((configuration[at] & ~mask) | (data[index] & mask));
                barsTouched |= at is >= PciConfigurationRegister.Command and < PciConfigurationRegister.Command + 2
                    or >= PciConfigurationRegister.BaseAddress0 and < PciConfigurationRegister.BaseAddress0 + (4 * PciConfigurationRegister.BaseAddressCount);
            }

            if (barsTouched)
            {
                UpdateBarWindows();
                UpdateInterruptLine();
            }

            OnConfigurationWritten(offset, data.Length);
        }
    }

    /// <summary>Drops every BAR window from the bus (device removal, machine teardown).</summary>
    public void UnmapBars()
    {
        lock (ConfigurationLock)
        {
            foreach (var bar in bars)
            {
                if (bar?.MappedAddress != null)
                {
                    bar.MappedAddress = BarHost?.PlaceBar(this, bar, null);
                }
            }
        }
    }

    /// <summary>
    /// Puts a BAR where firmware would have, before the guest starts (Linux keeps assignments inside the host bridge's windows),
    /// and turns decoding on.
    /// </summary>
    public void AssignBar(int index, ulong address)
    {
        lock (ConfigurationLock)
        {
            var bar = bars[index] ?? throw new ArgumentOutOfRangeException(nameof(index), $"BAR {index} is not implemented.");
            SetDoubleWord(PciConfigurationRegister.BaseAddress0 + (4 * index), (uint)address | bar.TypeBits);
            if (bar.Kind == PciBarKind.Memory64)
            {
                SetDoubleWord(PciConfigurationRegister.BaseAddress0 + (4 * (index + 1)), (uint)(address >> 32));
            }

            var command = Command | (bar.Kind == PciBarKind.Io ? PciCommand.IoSpace : PciCommand.MemorySpace);
            StoreWord(PciConfigurationRegister.Command, (ushort)command);
            UpdateBarWindows();
        }
    }

    /// <summary>The guest-visible address a BAR's register holds now (whether or not it decodes).</summary>
    public ulong ProgrammedAddress(PciBar bar)
    {
        lock (ConfigurationLock)
        {
            return ReadBarAddress(bar);
        }
    }

    /// <summary>Declares BAR <paramref name="index"/> (a 64-bit BAR also takes index + 1). Call from the constructor.</summary>
    protected PciBar AddBar(int index, ulong size, PciBarKind kind, Core.Bus.IBusDevice registers, bool prefetchable = false)
    {
        ulong minimum = kind == PciBarKind.Io ? 4UL : 16UL;
        if (size < minimum || (size & (size - 1)) != 0 || (kind != PciBarKind.Memory64 && size > 1UL << 31))
        {
            throw new ArgumentOutOfRangeException(nameof(size), $"A {kind} BAR's size must be a power of two from {minimum} bytes, not {size}.");
        }

        if (index < 0 || index >= PciConfigurationRegister.BaseAddressCount - (kind == PciBarKind.Memory64 ? 1 : 0) || bars[index] != null
            || (kind == PciBarKind.Memory64 && bars[index + 1] != null))
        {
            throw new ArgumentOutOfRangeException(nameof(index), $"BAR {index} is taken or out of range.");
        }

        var bar = new PciBar(index, size, kind, registers, prefetchable);
        bars[index] = bar;
        int register = PciConfigurationRegister.BaseAddress0 + (4 * index);
        uint lowMask = (uint)~(size - 1) & (kind == PciBarKind.Io ? 0xFFFF_FFFCu : 0xFFFF_FFF0u);
        SetDoubleWord(register, bar.TypeBits, writable: lowMask);
        if (kind == PciBarKind.Memory64)
        {
            SetDoubleWord(register + 4, 0, writable: (uint)(~(size - 1) >> 32));
        }

        return bar;
    }

    /// <summary>
    /// Appends a capability (§6.7): its ID, the link to the next one, then <paramref name="body"/>; bits set in
    /// <paramref name="writableBody"/> are the guest's to change. Returns the capability's offset. Call from the constructor.
    /// </summary>
    protected int AddCapability(byte id, ReadOnlySpan<byte> body, ReadOnlySpan<byte> writableBody)
    {
        int length = 2 + body.Length;
        int offset = nextCapabilityOffset;
        if (offset + length > PciConfigurationRegister.ConventionalSize)
        {
            throw new InvalidOperationException($"Capability 0x{id:x2} does not fit in conventional configuration space.");
        }

        configuration[lastCapabilityNextPointer] = (byte)offset;
        configuration[offset] = id;
        configuration[offset + 1] = 0;
        body.CopyTo(configuration.AsSpan(offset + 2));
        writableBody.CopyTo(writableBits.AsSpan(offset + 2));
        lastCapabilityNextPointer = offset + 1;
        nextCapabilityOffset = (offset + length + 3) & ~3;
        StoreWord(PciConfigurationRegister.Status, (ushort)((PciStatus)ReadWord(PciConfigurationRegister.Status) | PciStatus.CapabilitiesList));
        return offset;
    }

    /// <summary>Called under <see cref="ConfigurationLock"/> after the guest wrote configuration space.</summary>
    protected virtual void OnConfigurationWritten(int offset, int length)
    {
    }

    /// <summary>Called under <see cref="ConfigurationLock"/> when a BAR window was mapped, moved or unmapped.</summary>
    protected virtual void OnBarPlaced(PciBar bar)
    {
    }

    /// <summary>Drives INTA#: the Status register shows it, and the line follows unless Interrupt Disable is set (§6.2.2).</summary>
    protected void SetInterruptAsserted(bool asserted)
    {
        lock (ConfigurationLock)
        {
            interruptAsserted = asserted;
            var status = (PciStatus)ReadWord(PciConfigurationRegister.Status);
            status = asserted ? status | PciStatus.InterruptStatus : status & ~PciStatus.InterruptStatus;
            StoreWord(PciConfigurationRegister.Status, (ushort)status);
            UpdateInterruptLine();
        }
    }

    protected ushort ReadWord(int offset) => BinaryPrimitives.ReadUInt16LittleEndian(configuration.AsSpan(offset));

    protected uint ReadDoubleWord(int offset) => BinaryPrimitives.ReadUInt32LittleEndian(configuration.AsSpan(offset));

    protected void SetWord(int offset, ushort value, ushort writable = 0)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(configuration.AsSpan(offset), value);
        BinaryPrimitives.WriteUInt16LittleEndian(writableBits.AsSpan(offset), writable);
    }

    protected void SetDoubleWord(int offset, uint value, uint writable)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(configuration.AsSpan(offset), value);
        BinaryPrimitives.WriteUInt32LittleEndian(writableBits.AsSpan(offset), writable);
    }

    private void StoreWord(int offset, ushort value) => BinaryPrimitives.WriteUInt16LittleEndian(configuration.AsSpan(offset), value);

    private void SetDoubleWord(int offset, uint value) => BinaryPrimitives.WriteUInt32LittleEndian(configuration.AsSpan(offset), value);

    private void UpdateInterruptLine() =>
        interruptLine?.SetLevel(interruptAsserted && (Command & PciCommand.InterruptDisable) == 0);

    private ulong ReadBarAddress(PciBar bar)
    {
        int register = PciConfigurationRegister.BaseAddress0 + (4 * bar.Index);
        ulong low = ReadDoubleWord(register) & (bar.Kind == PciBarKind.Io ? 0xFFFF_FFFCu : 0xFFFF_FFF0u);
        return bar.Kind == PciBarKind.Memory64 ? low | ((ulong)ReadDoubleWord(register + 4) << 32) : low;
    }

    private void UpdateBarWindows()
    {
        var command = Command;
        foreach (var bar in bars)
        {
            if (bar == null || BarHost == null)
            {
                continue;
            }

            bool decodes = (command & (bar.Kind == PciBarKind.Io ? PciCommand.IoSpace : PciCommand.MemorySpace)) != 0;
            ulong address = ReadBarAddress(bar);
            ulong limit = bar.Kind == PciBarKind.Io ? 0x1_0000UL : bar.Kind == PciBarKind.Memory32 ? 1UL << 32 : 1UL << 52;

            // Address 0 is where a BAR sits before anyone placed it; a window that would run past the decodable space is
            // the sizing pattern (all ones) or a guest mistake. Neither decodes. (Compared without adding: all ones in a
            // 64-bit BAR plus its size wraps past 2^64 to a small number.)
            ulong? wanted = decodes && address != 0 && bar.Size <= limit && address <= limit - bar.Size ? address : null;
            if (wanted != bar.MappedAddress)
            {
                bar.MappedAddress = BarHost.PlaceBar(this, bar, wanted);
                OnBarPlaced(bar);
            }
        }
    }
}
