using Vessel.Core.Snapshots;

namespace Vessel.Devices.Serial;

/// <summary>A fixed-capacity first-in first-out byte queue; the UART's receive FIFO and its host-side input backlog.</summary>
internal sealed class ByteRing(int capacity)
{
    private readonly byte[] slots = new byte[capacity];
    private int head;

    public int Count { get; private set; }

    public int Capacity => slots.Length;

    public bool TryEnqueue(byte value)
    {
        if (Count == slots.Length)
        {
            return false;
        }

        slots[(head + Count) % slots.Length] = value;
        Count++;
        return true;
    }

    public bool TryDequeue(out byte value)
    {
        if (Count == 0)
        {
            value = 0;
            return false;
        }

        value = slots[head];
        head = (head + 1) % slots.Length;
        Count--;
        return true;
    }

    /// <summary>Writes the queued bytes, oldest first, as one byte string.</summary>
    public void SaveState(StateWriter writer)
    {
        var queued = new byte[Count];
        for (int index = 0; index < Count; index++)
        {
            queued[index] = slots[(head + index) % slots.Length];
        }

        writer.WriteBytes(queued);
    }

    /// <summary>Replaces the contents with what <see cref="SaveState"/> wrote, refusing more bytes than fit.</summary>
    public void RestoreState(StateReader reader, string what)
    {
        var queued = reader.ReadBytes();
        if (queued.Length > slots.Length)
        {
            throw reader.Malformed($"{what} holds {queued.Length} bytes; it has room for {slots.Length}");
        }

        Clear();
        foreach (byte value in queued)
        {
            TryEnqueue(value);
        }
    }

    public void Clear()
    {
        head = 0;
        Count = 0;
    }
}
