using Vessel.Core.Logging;

namespace Vessel.Core.Bus;

/// <summary>
/// Maps address ranges to devices. Registration happens while the machine is assembled; lookups afterwards are lock-free
/// over an immutable sorted array. An access nobody claims reads as all ones and is logged once per address.
/// </summary>
public abstract class AddressBus(string busName, IMachineLog log)
{
    private readonly object unclaimedLock = new();
    private readonly HashSet<ulong> reportedUnclaimed = [];
    private readonly LogRateLimiter unclaimedBeyondRemembered = new();
    private BusRange[] ranges = [];

    public IReadOnlyList<BusRange> Ranges => ranges;

    public void Register(ulong start, ulong length, IBusDevice device, string name)
    {
        if (length == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(length), $"{name}: a bus range must not be empty.");
        }

        foreach (var existing in ranges)
        {
            if (existing.Overlaps(start, length))
            {
                throw new BusConflictException(
                    $"{busName}: {name} at 0x{start:x}+0x{length:x} overlaps {existing.Name} at 0x{existing.Start:x}+0x{existing.Length:x}.");
            }
        }

        var updated = new BusRange[ranges.Length + 1];
        ranges.CopyTo(updated, 0);
        updated[^1] = new BusRange(start, length, device, name);
        Array.Sort(updated, (a, b) => a.Start.CompareTo(b.Start));
        ranges = updated;
        OnRangesChanged(updated);
    }

    public bool TryFind(ulong address, out BusRange range)
    {
        var snapshot = ranges;
        int low = 0;
        int high = snapshot.Length - 1;
        while (low <= high)
        {
            int middle = (low + high) >>> 1;
            ref readonly var candidate = ref snapshot[middle];
            if (address < candidate.Start)
            {
                high = middle - 1;
            }
            else if (address - candidate.Start >= candidate.Length)
            {
                low = middle + 1;
            }
            else
            {
                range = candidate;
                return true;
            }
        }

        range = default;
        return false;
    }

    protected virtual void OnRangesChanged(BusRange[] sorted)
    {
    }

    protected void ReadUnclaimed(ulong address, Span<byte> data)
    {
        data.Fill(0xFF);
        ReportUnclaimed(address, data.Length, "read");
    }

    /// <summary>How many distinct unclaimed addresses are remembered (and logged once each); past that, a rate limit applies.</summary>
    public const int RememberedUnclaimedAddresses = 64;

    protected void ReportUnclaimed(ulong address, int size, string kind)
    {
        // A guest can probe every address of a 64-bit bus: the set stays small, and what it cannot hold is rate-limited.
        long heldBack = 0;
        lock (unclaimedLock)
        {
            if (reportedUnclaimed.Contains(address))
            {
                return;
            }

            if (reportedUnclaimed.Count < RememberedUnclaimedAddresses)
            {
                reportedUnclaimed.Add(address);
            }
            else if (!unclaimedBeyondRemembered.TryAcquire(out heldBack))
            {
                return;
            }
        }

        log.Info(LogRateLimiter.Summarize($"{busName}: guest {kind} of {size} byte(s) at 0x{address:x} reached no device (logged once per address).", heldBack));
    }
}
