namespace Vessel.X86.Tests.Sse;

/// <summary>
/// Random inputs biased to the cases floating point gets wrong: signed zeros, denormals, infinities, quiet and
/// signaling NaNs with payloads, the largest and smallest normals, values near the integer conversion limits, and
/// pairs of nearby values (cancellation); MXCSR with every rounding mode, DAZ and FTZ on and off, all exceptions masked.
/// </summary>
public sealed class EdgeInputs(int seed)
{
    private readonly Random random = new(seed);

    public uint Single()
    {
        uint sign = random.Next(2) == 0 ? 0u : 0x8000_0000u;
        uint fraction = (uint)random.Next(1 << 23);
        return random.Next(16) switch
        {
            0 => sign,
            1 => sign | (fraction == 0 ? 1u : fraction),
            2 => sign | 0x0080_0000u | (uint)random.Next(4),
            3 => sign | 0x7F7F_FFFFu - (uint)random.Next(4),
            4 => sign | 0x7F80_0000u,
            5 => sign | 0x7FC0_0000u | (uint)random.Next(1 << 22),
            6 => sign | 0x7F80_0000u | (uint)(random.Next((1 << 22) - 1) + 1),
            7 => sign | 0x3F80_0000u,
            8 => sign | ((uint)(127 + 31 - random.Next(3)) << 23) | (uint)random.Next(1 << 23),
            9 => sign | ((uint)(127 + 63 - random.Next(3)) << 23) | (uint)random.Next(1 << 23),
            10 => sign | ((uint)random.Next(1, 30) << 23) | fraction,
            11 => sign | ((uint)random.Next(225, 255) << 23) | fraction,
            12 => sign | ((uint)random.Next(100, 160) << 23) | (fraction & 0x7F_F000),
            _ => sign | ((uint)random.Next(1, 255) << 23) | fraction,
        };
    }

    public ulong Double()
    {
        ulong sign = random.Next(2) == 0 ? 0UL : 1UL << 63;
        ulong fraction = (ulong)random.NextInt64(1L << 52);
        return random.Next(16) switch
        {
            0 => sign,
            1 => sign | (fraction == 0 ? 1UL : fraction),
            2 => sign | 0x0010_0000_0000_0000UL | (uint)random.Next(4),
            3 => sign | (0x7FEF_FFFF_FFFF_FFFFUL - (uint)random.Next(4)),
            4 => sign | 0x7FF0_0000_0000_0000UL,
            5 => sign | 0x7FF8_0000_0000_0000UL | (ulong)random.NextInt64(1L << 51),
            6 => sign | 0x7FF0_0000_0000_0000UL | (ulong)(random.NextInt64((1L << 51) - 1) + 1),
            7 => sign | 0x3FF0_0000_0000_0000UL,
            8 => sign | ((ulong)(1023 + 31 - random.Next(3)) << 52) | fraction,
            9 => sign | ((ulong)(1023 + 63 - random.Next(3)) << 52) | fraction,
            10 => sign | ((ulong)random.Next(1, 60) << 52) | fraction,
            11 => sign | ((ulong)random.Next(1990, 2047) << 52) | fraction,
            12 => sign | ((ulong)random.Next(800, 1300) << 52) | (fraction & 0xF_FFFF_FFF0_0000),
            13 => sign | ((ulong)random.Next(874, 897) << 52) | fraction,
            _ => sign | ((ulong)random.Next(1, 2047) << 52) | fraction,
        };
    }

    /// <summary>Sometimes a value close to <paramref name="other"/> (same or opposite sign), so subtraction cancels.</summary>
    public uint SingleNear(uint other) => random.Next(4) == 0 ? (other ^ (uint)(random.Next(2) << 31)) + (uint)random.Next(-3, 4) : Single();

    public ulong DoubleNear(ulong other) => random.Next(4) == 0 ? (other ^ ((ulong)(uint)random.Next(2) << 63)) + unchecked((ulong)(long)random.Next(-3, 4)) : Double();

    public ulong Integer64() => random.Next(8) switch
    {
        0 => 0,
        1 => unchecked((ulong)(long)random.Next(-4, 4)),
        2 => 0x8000_0000_0000_0000UL + unchecked((ulong)(long)random.Next(-2, 3)),
        3 => 0x8000_0000UL + unchecked((ulong)(long)random.Next(-2, 3)),
        4 => unchecked((ulong)(long)random.Next(int.MinValue, int.MaxValue)),
        5 => (ulong)random.NextInt64() >> random.Next(64),
        _ => (ulong)random.NextInt64() ^ ((ulong)(uint)random.Next(2) << 63),
    };

    /// <summary>Random bytes with runs of the saturation edges (0x00, 0x7F, 0x80, 0xFF).</summary>
    public ulong IntegerLanes()
    {
        ulong value = 0;
        for (int i = 0; i < 8; i++)
        {
            ulong b = random.Next(6) switch
            {
                0 => 0x00,
                1 => 0x7F,
                2 => 0x80,
                3 => 0xFF,
                _ => (ulong)random.Next(256),
            };
            value |= b << (i * 8);
        }

        return value;
    }

    /// <summary>Eight bytes from a small alphabet (so strings match), with an occasional zero terminator.</summary>
    public ulong TextLanes()
    {
        ReadOnlySpan<byte> alphabet = [0x61, 0x62, 0x63, 0x61, 0x62, 0x00, 0x80, 0xFF, 0x7F];
        ulong value = 0;
        for (int i = 0; i < 8; i++)
        {
            byte b = random.Next(3) == 0 ? (byte)random.Next(256) : alphabet[random.Next(random.Next(8) == 0 ? alphabet.Length : 5)];
            value |= (ulong)b << (i * 8);
        }

        return value;
    }

    public uint Mxcsr()
    {
        uint mxcsr = 0x1F80 | ((uint)random.Next(4) << 13);
        if (random.Next(3) == 0)
        {
            mxcsr |= 1 << 6;
        }

        if (random.Next(3) == 0)
        {
            mxcsr |= 1 << 15;
        }

        if (random.Next(4) == 0)
        {
            mxcsr |= (uint)random.Next(64);
        }

        return mxcsr;
    }

    public int Next(int maximum) => random.Next(maximum);

    public unsafe SseRecord Record(OperandKind kind)
    {
        var record = new SseRecord { MxcsrIn = Mxcsr(), RflagsIn = random.Next(2) == 0 ? 0x2UL : 0x8D7UL, Rax = Integer64(), Rcx = Integer64(), Rdx = Integer64() };
        if (kind == OperandKind.Text)
        {
            record.Rax = random.Next(4) == 0 ? Integer64() : unchecked((ulong)(long)random.Next(-20, 20));
            record.Rdx = random.Next(4) == 0 ? Integer64() : unchecked((ulong)(long)random.Next(-20, 20));
        }

        for (int register = 0; register < 4; register++)
        {
            for (int half = 0; half < 2; half++)
            {
                record.Xmm[(register * 2) + half] = kind switch
                {
                    OperandKind.Single => Single() | ((ulong)Single() << 32),
                    OperandKind.Double => Double(),
                    OperandKind.Text => TextLanes(),
                    _ => IntegerLanes(),
                };
            }
        }

        if (kind == OperandKind.Single && random.Next(2) == 0)
        {
            for (int q = 0; q < 2; q++)
            {
                ulong destination = record.Xmm[q];
                record.Xmm[2 + q] = SingleNear((uint)destination) | ((ulong)SingleNear((uint)(destination >> 32)) << 32);
            }
        }
        else if (kind == OperandKind.Double && random.Next(2) == 0)
        {
            record.Xmm[2] = DoubleNear(record.Xmm[0]);
            record.Xmm[3] = DoubleNear(record.Xmm[1]);
        }

        for (int q = 0; q < 4; q++)
        {
            record.Memory[q] = kind switch
            {
                OperandKind.Single => Single() | ((ulong)Single() << 32),
                OperandKind.Double => q == 0 ? DoubleNear(record.Xmm[0]) : q == 1 ? DoubleNear(record.Xmm[1]) : Double(),
                OperandKind.Text => TextLanes(),
                _ => IntegerLanes(),
            };
        }

        record.Mm[0] = kind == OperandKind.Integer ? IntegerLanes() : Single() | ((ulong)Single() << 32);
        record.Mm[1] = kind == OperandKind.Integer ? IntegerLanes() : Integer64();
        if (kind == OperandKind.Integer && random.Next(3) == 0)
        {
            // Shift counts: mostly small, sometimes past the element width.
            record.Xmm[2] = (ulong)random.Next(70);
            record.Mm[1] = (ulong)random.Next(70);
        }

        return record;
    }

    public SseRecord[] Records(OperandKind kind, int count)
    {
        var records = new SseRecord[count];
        for (int i = 0; i < count; i++)
        {
            records[i] = Record(kind);
        }

        return records;
    }
}
