namespace Vessel.X86.Tests.Differential;

/// <summary>Edge-biased random operands: zero, one, all ones and the sign boundaries of every width, over random upper bits.</summary>
public static class Inputs
{
    private static readonly ulong[] Boundaries =
    [
        0, 1, 2, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF,
        0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000, ulong.MaxValue, 0x0F, 0x10, 0x99, 0x55, 0xAA,
    ];

    public static ulong Edge(Random random)
    {
        ulong value = random.Next(6) switch
        {
            0 or 1 => Boundaries[random.Next(Boundaries.Length)] + (ulong)(random.Next(3) - 1),
            2 => (ulong)random.Next(65),
            _ => (ulong)random.NextInt64() ^ ((ulong)random.Next() << 63),
        };

        // Narrow operands must see their edges with random (ignored) upper bits too.
        if (random.Next(3) == 0)
        {
            int keep = 8 << random.Next(3);
            value = ((ulong)random.NextInt64() & ~((1UL << keep) - 1)) | (value & ((1UL << keep) - 1));
        }

        return value;
    }

    public static ulong Flags(Random random)
    {
        const ulong arithmetic = 0x8D5;
        return ((ulong)random.Next() & arithmetic) | 0x2;
    }

    public static unsafe void Fill(Random random, ref MachineState state)
    {
        for (int i = 0; i < MachineState.RegisterCount; i++)
        {
            state.Gpr[i] = Edge(random);
        }

        state.Rflags = Flags(random);
        for (int i = 0; i < MachineState.MemorySize; i += 8)
        {
            ulong value = Edge(random);
            for (int b = 0; b < 8; b++)
            {
                state.Memory[i + b] = (byte)(value >> (8 * b));
            }
        }
    }
}
