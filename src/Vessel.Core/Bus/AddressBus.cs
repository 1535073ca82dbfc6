using Vessel.Core.Logging;

namespace Vessel.Core.Bus;

/// <summary>
/// Maps address ranges to devices. Ranges are added while the machine is assembled and added, moved or removed while it
/// runs (a guest places a PCI BAR); lookups are lock-free over an immutable sorted array that each change replaces whole.
/// An access nobody claims reads as all ones and is logged once per address.
/// </summary>
public abstract class AddressBus(string busName, IMachineLog log)
{
    private readonly object changeLock = new();
    private readonly object unclaimedLock = new();
    private readonly HashSet<ulong> reportedUnclaimed = [];
    private readonly LogRateLimiter unclaimedBeyondRemembered = new();
    private BusRange[] ranges = [];

    public IReadOnlyList<BusRange> Ranges => ranges;

    public void Register(ulong start, ulong length, IBusDevice device, string name)
    {
        if (!TryRegister(start, length, device, name, out var conflict))
        {
            throw new BusConflictException(
                $"{busName}: {name} at 0x{start:x}+0x{length:x} overlaps {conflict.Name} at 0x{conflict.Start:x}+0x{conflict.Length:x}.");
        }
    }

    /// <summary>Claims a range unless it overlaps another (then <paramref name="conflict"/> names that one); for ranges a guest chooses.</summary>
    public bool TryRegister(ulong start, ulong length, IBusDevice device, string name, out BusRange conflict)
    {
        if (length == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(length), $"{name}: a bus range must not be empty.");
        }

        if (start + length < start)
        {
            throw new ArgumentOutOfRangeException(nameof(start), $"{name}: 0x{start:x}+0x{length:x} wraps around the address space.");
        }

        lock (changeLock)
        {
            foreach (var existing in ranges)
            {
                if (existing.Overlaps(start, length))
                {
                    conflict = existing;
                    return false;
                }
            }

            var updated = new BusRange[ranges.Length + 1];
            ranges.CopyTo(updated, 0);
            updated[^1] = new BusRange(start, length, device, name);
            Array.Sort(updated, (a, b) => a.Start.CompareTo(b.Start));
            Publish(updated);
        }

        conflict = default;
        return true;
    }

    /// <summary>Drops the range <paramref name="device"/> claimed at <paramref name="start"/>; false when it holds none there.</summary>
    public bool Unregister(ulong start, IBusDevice device)
    {
        lock (changeLock)
        {
            int index = Array.FindIndex(ranges, range => range.Start == start && ReferenceEquals(range.Device, device));
            if (index < 0)
            {
                return false;
            }

            var updated = new BusRange[ranges.Length - 1];
            Array.Copy(ranges, 0, updated, 0, index);
            Array.Copy(ranges, index + 1, updated, index, ranges.Length - index - 1);
            Publish(updated);
            return true;
        }
    }

    /// <summary>Moves a device's range to <paramref name="newStart"/> in one step (a guest reprograms a BAR); false when the new place is taken.</summary>
    public bool TryMove(ulong oldStart, ulong newStart, IBusDevice device, out BusRange conflict)
    {
        lock (changeLock)
        {
            int index = Array.FindIndex(ranges, range => range.Start == oldStart && ReferenceEquals(range.Device, device));
            if (index < 0)
            {
                throw new InvalidOperationException($"{busName}: no range of this device at 0x{oldStart:x} to move.");
            }

            var moving = ranges[index];
            foreach (var existing in ranges)
            {
                if (!ReferenceEquals(existing.Device, device) || existing.Start != oldStart)
                {
                    if (existing.Overlaps(newStart, moving.Length))
                    {
                        conflict = existing;
                        return false;
                    }
                }
            }

            var updated = (BusRange[])ranges.Clone();
            updated[index] = moving with { Start = newStart };
            Array.Sort(updated, (a, b) => a.Start.CompareTo(b.Start));
            Publish(updated);
        }

        conflict = default;
        return true;
    }

    private void Publish(BusRange[] sorted)
    {
        OnRangesChanged(sorted);
        Volatile.Write(ref ranges, sorted);
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
