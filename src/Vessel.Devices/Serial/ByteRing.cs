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

    public void Clear()
    {
        head = 0;
        Count = 0;
    }
}
