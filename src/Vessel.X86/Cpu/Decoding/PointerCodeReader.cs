using Iced.Intel;

namespace Vessel.X86.Cpu.Decoding;

/// <summary>Feeds Iced bytes straight from guest RAM, stopping at the end of the page being decoded.</summary>
internal sealed unsafe class PointerCodeReader : CodeReader
{
    private byte* current;
    private byte* end;

    public void Reset(byte* start, int length)
    {
        current = start;
        end = start + length;
    }

    public override int ReadByte()
    {
        if (current >= end)
        {
            return -1;
        }

        // Safety: Reset() bounded [current, end) to the mapped page being decoded.
        return *current++;
    }
}
