using Vessel.Kvm.Interop;

namespace Vessel.Kvm;

/// <summary>
/// The VM's GSI routing table as KVM_SET_GSI_ROUTING takes it. That ioctl replaces the whole table, so the table always
/// starts with the routes KVM installs by itself when the irqchip is created (arch/x86/kvm/irq_comm.c, default_routing):
/// GSIs 0-15 to the IOAPIC pin of the same number and to the master (0-7) or slave (8-15) PIC, GSIs 16-23 to the IOAPIC
/// only. MSI routes follow on GSIs from 24, each on a GSI of its own. Not thread-safe: <see cref="KvmVm"/> locks around it.
/// </summary>
internal sealed class KvmGsiRoutingTable
{
    /// <summary>The in-kernel IOAPIC's pins (KVM_IOAPIC_NUM_PINS); the first GSI free for MSIs.</summary>
    public const int FirstMsiGsi = 24;

    /// <summary>GSIs that the two cascaded PICs also receive.</summary>
    private const int PicGsiCount = 16;

    private const int PicPinCount = 8;

    private readonly int routeLimit;
    private readonly SortedDictionary<int, (ulong Address, uint Data)?> msiRoutes = [];

    /// <param name="routeLimit">KVM_CAP_IRQ_ROUTING's answer: the most entries a table may hold, and the bound on GSI numbers.</param>
    public KvmGsiRoutingTable(int routeLimit)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(routeLimit, FirstMsiGsi + PicGsiCount);
        this.routeLimit = routeLimit;
    }

    /// <summary>Entries the kernel's default table holds: two for each PIC-routed GSI, one for the rest of the IOAPIC's pins.</summary>
    public static int DefaultEntryCount => PicGsiCount + FirstMsiGsi;

    public int MsiRouteCount => msiRoutes.Count;

    /// <summary>Takes the lowest free GSI from <see cref="FirstMsiGsi"/>; null when the kernel's table has no room for another entry.</summary>
    public int? AllocateMsiGsi()
    {
        if (DefaultEntryCount + msiRoutes.Count >= routeLimit)
        {
            return null;
        }

        int gsi = FirstMsiGsi;
        foreach (int used in msiRoutes.Keys)
        {
            if (used != gsi)
            {
                break;
            }

            gsi++;
        }

        if (gsi >= routeLimit)
        {
            return null;
        }

        msiRoutes.Add(gsi, null);
        return gsi;
    }

    /// <summary>Gives <paramref name="gsi"/> back; its entry leaves the table at the next build.</summary>
    public void Free(int gsi) => msiRoutes.Remove(gsi);

    /// <summary>Routes <paramref name="gsi"/> (from <see cref="AllocateMsiGsi"/>) to a message. False when nothing changed.</summary>
    public bool SetMessage(int gsi, ulong address, uint data)
    {
        if (!msiRoutes.TryGetValue(gsi, out var current))
        {
            throw new InvalidOperationException($"GSI {gsi} is not an allocated MSI route.");
        }

        if (current == (address, data))
        {
            return false;
        }

        msiRoutes[gsi] = (address, data);
        return true;
    }

    /// <summary>Forgets the message of <paramref name="gsi"/> (after the kernel refused it), keeping the GSI allocated.</summary>
    public void ClearMessage(int gsi)
    {
        if (msiRoutes.ContainsKey(gsi))
        {
            msiRoutes[gsi] = null;
        }
    }

    /// <summary>The whole table: the default irqchip routes, then each MSI route that has a message, by GSI.</summary>
    public KvmIrqRoutingEntry[] Build()
    {
        var entries = new List<KvmIrqRoutingEntry>(DefaultEntryCount + msiRoutes.Count);
        for (int gsi = 0; gsi < FirstMsiGsi; gsi++)
        {
            entries.Add(IrqchipEntry(gsi, KvmIrqchipId.Ioapic, gsi));
            if (gsi < PicGsiCount)
            {
                entries.Add(IrqchipEntry(gsi, gsi < PicPinCount ? KvmIrqchipId.PicMaster : KvmIrqchipId.PicSlave, gsi % PicPinCount));
            }
        }

        foreach (var (gsi, message) in msiRoutes)
        {
            if (message is { } routed)
            {
                entries.Add(new KvmIrqRoutingEntry
                {
                    Gsi = (uint)gsi,
                    Type = KvmIrqRoutingEntry.TypeMsi,
                    Msi = new KvmIrqRoutingMsi { AddressLo = (uint)routed.Address, AddressHi = (uint)(routed.Address >> 32), Data = routed.Data },
                });
            }
        }

        return [.. entries];
    }

    private static KvmIrqRoutingEntry IrqchipEntry(int gsi, KvmIrqchipId chip, int pin) => new()
    {
        Gsi = (uint)gsi,
        Type = KvmIrqRoutingEntry.TypeIrqchip,
        Irqchip = new KvmIrqRoutingIrqchip { Irqchip = (uint)chip, Pin = (uint)pin },
    };
}
