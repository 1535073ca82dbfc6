using System.Buffers.Binary;
using Vessel.Core.Accel;
using Vessel.Core.Bus;
using Vessel.Core.Interrupts;
using Vessel.Core.Snapshots;

namespace Vessel.Devices.Pci;

/// <summary>
/// An MSI-X capability's vector table and Pending Bit Array (PCI Local Bus 3.0 §6.8.2): per vector a message address, data
/// and mask bit the guest programs through a BAR; <see cref="Notify"/> sends the message, or records it pending while the
/// vector or the whole function is masked and sends it when unmasked. Safe from any thread.
/// With kernel MSI routes (KVM irqfds), each vector owns a route whose message follows the table entry, and a notify signals
/// the route's eventfd instead of making a KVM_SIGNAL_MSI ioctl. The mask and pending logic stays here either way, so a
/// masked vector or a disabled function never reaches the kernel, and the PBA reads the same.
/// </summary>
public sealed class MsixTable : IStateful, IDisposable
{
    /// <summary>The capability ID of MSI-X (§6.8.2.1).</summary>
    public const byte CapabilityId = 0x11;

    /// <summary>Bytes of one table entry: address low, address high, data, vector control.</summary>
    public const int EntrySize = 16;

    /// <summary>The capability's body after ID and next pointer: Message Control, Table Offset/BIR, PBA Offset/BIR.</summary>
    public const int CapabilityBodySize = 10;

    /// <summary>Message Control bit 15: MSI-X Enable.</summary>
    public const ushort EnableBit = 1 << 15;

    /// <summary>Message Control bit 14: Function Mask.</summary>
    public const ushort FunctionMaskBit = 1 << 14;

    private const uint VectorMaskBit = 1;

    private readonly object gate = new();
    private readonly byte[] table;
    private readonly ulong[] pending;
    private readonly IMsiSink sink;
    private readonly IKernelMsiRoute?[] routes;
    private readonly (ulong Address, uint Data)?[] routedMessages;
    private readonly bool[] routeRefused;
    private bool enabled;
    private bool functionMasked;
    private bool disposed;

    /// <param name="kernelRoutes">When given, one kernel MSI route per vector (a vector the kernel has no GSI for uses <paramref name="sink"/>).</param>
    public MsixTable(int vectorCount, IMsiSink sink, IKernelIoEvents? kernelRoutes = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(vectorCount, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(vectorCount, 2048);
        VectorCount = vectorCount;
        this.sink = sink;
        table = new byte[vectorCount * EntrySize];
        pending = new ulong[(vectorCount + 63) / 64];
        for (int vector = 0; vector < vectorCount; vector++)
        {
            // §6.8.2.9: every vector's Mask bit is set after reset.
            BinaryPrimitives.WriteUInt32LittleEndian(table.AsSpan((vector * EntrySize) + 12), VectorMaskBit);
        }

        Table = new TableRegion(this);
        PendingBits = new PendingBitRegion(this);
        routes = new IKernelMsiRoute?[vectorCount];
        routedMessages = new (ulong, uint)?[vectorCount];
        routeRefused = new bool[vectorCount];
        if (kernelRoutes != null)
        {
            try
            {
                for (int vector = 0; vector < vectorCount; vector++)
                {
                    routes[vector] = kernelRoutes.CreateMsiRoute();
                }
            }
            catch
            {
                Dispose();
                throw;
            }
        }
    }

    /// <summary>How many vectors have a kernel MSI route (0 without kernel routes).</summary>
    public int KernelRouteCount => routes.Count(route => route != null);

    public int VectorCount { get; }

    /// <summary>Bytes the table occupies in its BAR.</summary>
    public int TableSize => VectorCount * EntrySize;

    /// <summary>Bytes the PBA occupies in its BAR (whole QWORDs).</summary>
    public int PendingBitArraySize => pending.Length * 8;

    /// <summary>The table as its BAR sees it.</summary>
    public IBusDevice Table { get; }

    /// <summary>The PBA as its BAR sees it (read-only).</summary>
    public IBusDevice PendingBits { get; }

    public bool Enabled
    {
        get
        {
            lock (gate)
            {
                return enabled;
            }
        }
    }

    /// <summary>The capability body for <see cref="PciFunction"/>'s list, and which of its bits the guest may write.</summary>
    public (byte[] Body, byte[] Writable) CapabilityBody(int tableBar, uint tableOffset, int pendingBar, uint pendingOffset)
    {
        var body = new byte[CapabilityBodySize];
        var writable = new byte[CapabilityBodySize];
        BinaryPrimitives.WriteUInt16LittleEndian(body, (ushort)(VectorCount - 1));
        BinaryPrimitives.WriteUInt16LittleEndian(writable, EnableBit | FunctionMaskBit);
        BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(2), tableOffset | (uint)tableBar);
        BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(6), pendingOffset | (uint)pendingBar);
        return (body, writable);
    }

    public int StateVersion => 1;

    /// <summary>
    /// The vector table and the pending bits. Enable and function mask live in the capability's message control, which the
    /// function's configuration space carries and hands back through <see cref="SetControl"/> after this is restored.
    /// </summary>
    public void SaveState(StateWriter writer)
    {
        lock (gate)
        {
            writer.WriteBytes(table);
            writer.WriteInt32(pending.Length);
            foreach (ulong word in pending)
            {
                writer.WriteUInt64(word);
            }
        }
    }

    public void RestoreState(StateReader reader, int version)
    {
        var savedTable = reader.ReadBytes();
        if (savedTable.Length != table.Length)
        {
            throw reader.Malformed($"the MSI-X table is {savedTable.Length} bytes where this function has {VectorCount} vectors ({table.Length} bytes)");
        }

        int words = reader.ReadInt32();
        if (words != pending.Length)
        {
            throw reader.Malformed($"the MSI-X pending bit array has {words} words, not {pending.Length}");
        }

        lock (gate)
        {
            savedTable.CopyTo(table);
            for (int word = 0; word < pending.Length; word++)
            {
                pending[word] = reader.ReadUInt64();
            }

            // Bits past the last vector do not exist; a corrupted file must not make them pending.
            if (VectorCount % 64 != 0)
            {
                pending[^1] &= (1UL << (VectorCount % 64)) - 1;
            }
        }
    }

    /// <summary>The guest wrote Message Control: follow its Enable and Function Mask bits, sending what unmasking releases.</summary>
    public void SetControl(ushort messageControl)
    {
        lock (gate)
        {
            enabled = (messageControl & EnableBit) != 0;
            functionMasked = (messageControl & FunctionMaskBit) != 0;
            PrepareRoutesLocked();
            DeliverReleasedLocked();
        }
    }

    /// <summary>
    /// Signals <paramref name="vector"/>. Returns false when MSI-X is disabled (the caller falls back to INTx) or the vector does
    /// not exist; true when the message was sent or is now pending behind a mask.
    /// </summary>
    public bool Notify(int vector)
    {
        ulong address;
        uint data;
        IKernelMsiRoute? route;
        lock (gate)
        {
            if (!enabled || (uint)vector >= (uint)VectorCount)
            {
                return false;
            }

            if (functionMasked || IsMaskedLocked(vector))
            {
                pending[vector / 64] |= 1UL << (vector % 64);
                return true;
            }

            (address, data) = MessageLocked(vector);
            route = RouteLocked(vector, address, data);
        }

        Send(route, address, data);
        return true;
    }

    /// <summary>
    /// The eventfd of <paramref name="vector"/>'s kernel route with its message brought up to date with the table entry, for a
    /// kernel component that raises the vector itself (vhost-net's call); null when MSI-X is off, the vector has no route or
    /// the kernel refused its message. Such a signal bypasses the mask bits, which only this table applies.
    /// </summary>
    public int? KernelRouteDescriptor(int vector)
    {
        lock (gate)
        {
            if (!enabled || (uint)vector >= (uint)VectorCount)
            {
                return null;
            }

            var (address, data) = MessageLocked(vector);
            return RouteLocked(vector, address, data)?.Descriptor;
        }
    }

    /// <summary>Returns the table to its reset state (every vector masked, nothing pending, disabled).</summary>
    public void Reset()
    {
        lock (gate)
        {
            Array.Clear(table);
            Array.Clear(pending);
            for (int vector = 0; vector < VectorCount; vector++)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(table.AsSpan((vector * EntrySize) + 12), VectorMaskBit);
            }

            enabled = false;
            functionMasked = false;
        }
    }

    /// <summary>Releases the kernel routes (their GSIs and irqfds). Later notifies take the <see cref="IMsiSink"/> path.</summary>
    public void Dispose()
    {
        lock (gate)
        {
            if (disposed)
            {
                return;
            }

            disposed = true;
            for (int vector = 0; vector < routes.Length; vector++)
            {
                routes[vector]?.Dispose();
                routes[vector] = null;
            }
        }
    }

    private void Send(IKernelMsiRoute? route, ulong address, uint data)
    {
        if (route != null)
        {
            route.Signal();
        }
        else
        {
            sink.SendMsi(address, data);
        }
    }

    /// <summary>
    /// The vector's kernel route, its message brought up to date with the table entry, or null when the message must be sent
    /// through the sink (no route, or the kernel refused this message).
    /// </summary>
    private IKernelMsiRoute? RouteLocked(int vector, ulong address, uint data)
    {
        var route = routes[vector];
        if (route == null)
        {
            return null;
        }

        if (routedMessages[vector] != (address, data))
        {
            routedMessages[vector] = (address, data);
            routeRefused[vector] = !route.SetMessage(address, data);
        }

        return routeRefused[vector] ? null : route;
    }

    /// <summary>
    /// Brings the routes of every vector that may fire up to date now, on the thread that unmasked them (a vCPU), so the
    /// routing-table update is not left to the first interrupt on the I/O thread.
    /// </summary>
    private void PrepareRoutesLocked()
    {
        if (!enabled || functionMasked)
        {
            return;
        }

        for (int vector = 0; vector < VectorCount; vector++)
        {
            if (routes[vector] != null && !IsMaskedLocked(vector))
            {
                var (address, data) = MessageLocked(vector);
                RouteLocked(vector, address, data);
            }
        }
    }

    private bool IsMaskedLocked(int vector) =>
        (BinaryPrimitives.ReadUInt32LittleEndian(table.AsSpan((vector * EntrySize) + 12)) & VectorMaskBit) != 0;

    private (ulong Address, uint Data) MessageLocked(int vector)
    {
        var entry = table.AsSpan(vector * EntrySize, EntrySize);
        return (BinaryPrimitives.ReadUInt64LittleEndian(entry), BinaryPrimitives.ReadUInt32LittleEndian(entry[8..]));
    }

    private void DeliverReleasedLocked()
    {
        if (!enabled || functionMasked)
        {
            return;
        }

        for (int vector = 0; vector < VectorCount; vector++)
        {
            ulong bit = 1UL << (vector % 64);
            if ((pending[vector / 64] & bit) != 0 && !IsMaskedLocked(vector))
            {
                pending[vector / 64] &= ~bit;
                var (address, data) = MessageLocked(vector);
                Send(RouteLocked(vector, address, data), address, data);
            }
        }
    }

    private sealed class TableRegion(MsixTable owner) : IBusDevice
    {
        public void Read(ulong offset, Span<byte> data)
        {
            lock (owner.gate)
            {
                CopyOut(owner.table, offset, data);
            }
        }

        public void Write(ulong offset, ReadOnlySpan<byte> data)
        {
            lock (owner.gate)
            {
                if (offset >= (ulong)owner.table.Length)
                {
                    return;
                }

                int count = (int)Math.Min((ulong)data.Length, (ulong)owner.table.Length - offset);
                data[..count].CopyTo(owner.table.AsSpan((int)offset));
                owner.PrepareRoutesLocked();
                owner.DeliverReleasedLocked();
            }
        }
    }

    private sealed class PendingBitRegion(MsixTable owner) : IBusDevice
    {
        public void Read(ulong offset, Span<byte> data)
        {
            lock (owner.gate)
            {
                Span<byte> bits = stackalloc byte[owner.pending.Length * 8];
                for (int word = 0; word < owner.pending.Length; word++)
                {
                    BinaryPrimitives.WriteUInt64LittleEndian(bits[(word * 8)..], owner.pending[word]);
                }

                CopyOut(bits, offset, data);
            }
        }

        public void Write(ulong offset, ReadOnlySpan<byte> data)
        {
        }
    }

    private static void CopyOut(ReadOnlySpan<byte> source, ulong offset, Span<byte> data)
    {
        data.Clear();
        if (offset < (ulong)source.Length)
        {
            int count = (int)Math.Min((ulong)data.Length, (ulong)source.Length - offset);
            source.Slice((int)offset, count).CopyTo(data);
        }
    }
}
