using System.Runtime.CompilerServices;

namespace Vessel.X86.Cpu.Decoding;

/// <summary>One vCPU's decoded blocks, found by physical address and code width through a direct-mapped table.</summary>
public sealed class BlockCache
{
    private const int Slots = 1 << 16;
    private readonly DecodedBlock?[] table = new DecodedBlock?[Slots];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public DecodedBlock? Find(ulong physicalAddress, int codeBits, uint generation)
    {
        var block = table[Slot(physicalAddress)];
        return block != null && block.PhysicalAddress == physicalAddress && block.CodeBits == codeBits && block.Generation == generation
            ? block
            : null;
    }

    public void Add(DecodedBlock block) => table[Slot(block.PhysicalAddress)] = block;

    public void Clear() => Array.Clear(table);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Slot(ulong physicalAddress) => (int)((physicalAddress ^ (physicalAddress >> 14)) & (Slots - 1));
}
