using Vessel.Core.Memory;

namespace Vessel.Devices.Virtio.Queues;

/// <summary>
/// One request: the head index to return in the used ring and its buffers, device-readable ones first (virtio 1.2 §2.7.4.2).
/// A device keeps one instance per queue and reuses it for every request, so walking a chain allocates nothing.
/// </summary>
public sealed class DescriptorChain
{
    private readonly DescriptorSegment[] segments;

    public DescriptorChain(int capacity = SplitVirtqueue.MaximumSize)
    {
        segments = new DescriptorSegment[capacity];
    }

    public ushort Head { get; private set; }

    public int Count { get; private set; }

    /// <summary>Total bytes of the device-readable buffers.</summary>
    public ulong ReadableLength { get; private set; }

    /// <summary>Total bytes of the device-writable buffers.</summary>
    public ulong WritableLength { get; private set; }

    public ReadOnlySpan<DescriptorSegment> Segments => segments.AsSpan(0, Count);

    /// <summary>Gathers up to <paramref name="destination"/>.Length readable bytes from <paramref name="offset"/> into it; returns how many.</summary>
    public int Read(GuestMemory memory, ulong offset, Span<byte> destination)
    {
        int copied = 0;
        foreach (var segment in Segments)
        {
            if (segment.DeviceWritable || copied == destination.Length)
            {
                break;
            }

            if (offset >= segment.Length)
            {
                offset -= segment.Length;
                continue;
            }

            int count = (int)Math.Min(segment.Length - offset, (ulong)(destination.Length - copied));
            if (!memory.TryRead(segment.Address + offset, destination.Slice(copied, count)))
            {
                break;
            }

            copied += count;
            offset = 0;
        }

        return copied;
    }

    /// <summary>Scatters <paramref name="source"/> into the writable buffers from <paramref name="offset"/> on; returns how many bytes fit.</summary>
    public int Write(GuestMemory memory, ulong offset, ReadOnlySpan<byte> source)
    {
        int copied = 0;
        foreach (var segment in Segments)
        {
            if (!segment.DeviceWritable)
            {
                continue;
            }

            if (copied == source.Length)
            {
                break;
            }

            if (offset >= segment.Length)
            {
                offset -= segment.Length;
                continue;
            }

            int count = (int)Math.Min(segment.Length - offset, (ulong)(source.Length - copied));
            if (!memory.TryWrite(segment.Address + offset, source.Slice(copied, count)))
            {
                break;
            }

            copied += count;
            offset = 0;
        }

        return copied;
    }

    internal void Reset(ushort head)
    {
        Head = head;
        Count = 0;
        ReadableLength = 0;
        WritableLength = 0;
    }

    internal bool TryAdd(DescriptorSegment segment)
    {
        if (Count == segments.Length)
        {
            return false;
        }

        segments[Count++] = segment;
        if (segment.DeviceWritable)
        {
            WritableLength += segment.Length;
        }
        else
        {
            ReadableLength += segment.Length;
        }

        return true;
    }
}
