namespace Vessel.X86.Tests.Fpu;

/// <summary>Edge-biased 80-bit values, memory operands and control words for the x87 differential tests.</summary>
public sealed class X87Inputs(int seed)
{
    private readonly Random random = new(seed);

    /// <summary>An 80-bit value as (significand, sign and exponent).</summary>
    public (ulong Significand, ushort SignExponent) Extended()
    {
        ushort sign = random.Next(2) == 0 ? (ushort)0 : (ushort)0x8000;
        ulong fraction = (ulong)random.NextInt64() & 0x7FFF_FFFF_FFFF_FFFF;
        return random.Next(14) switch
        {
            0 => (0, sign),
            1 => (fraction == 0 ? 1 : fraction >> random.Next(60), sign),
            2 => (0x8000_0000_0000_0000 | fraction, (ushort)(sign | 0x7FFF)) is var nan && random.Next(2) == 0 ? (nan.Item1 | (1UL << 62), nan.Item2) : (0x8000_0000_0000_0000 | (fraction >> 1) | 1, (ushort)(sign | 0x7FFF)),
            3 => (0x8000_0000_0000_0000, (ushort)(sign | 0x7FFF)),
            4 => (0x8000_0000_0000_0000 | (fraction & ~0xFFUL), (ushort)(sign | 0x3FFF)),
            5 => (0x8000_0000_0000_0000 | fraction, (ushort)(sign | (0x3FFF + random.Next(-70, 70)))),
            6 => (0x8000_0000_0000_0000 | fraction, (ushort)(sign | random.Next(1, 40))),
            7 => (0x8000_0000_0000_0000 | fraction, (ushort)(sign | (0x7FFE - random.Next(40)))),
            8 => (0x8000_0000_0000_0000 | (fraction & (ulong.MaxValue << random.Next(11, 60))), (ushort)(sign | (0x3FFF + random.Next(0, 64)))),
            9 => (0x8000_0000_0000_0000 | fraction, (ushort)(sign | (0x3FFF + random.Next(-1030, 1030)))),
            10 => (0x8000_0000_0000_0000 | fraction, (ushort)(sign | (0x3FFF + random.Next(-140, 140)))),
            _ => (0x8000_0000_0000_0000 | fraction, (ushort)(sign | (0x3FFF + random.Next(-16, 16)))),
        };
    }

    /// <summary>A value near <paramref name="other"/>, for cancellation and remainder tests.</summary>
    public (ulong, ushort) Near((ulong Significand, ushort SignExponent) other) =>
        random.Next(3) == 0 ? (other.Significand + (ulong)random.Next(0, 3), (ushort)(other.SignExponent ^ (random.Next(2) << 15))) : Extended();

    public ushort ControlWord()
    {
        int precision = random.Next(4) switch { 0 => 0, 1 => 2, _ => 3 };
        return (ushort)(0x7F | (precision << 8) | (random.Next(4) << 10));
    }

    public ulong Single()
    {
        var inputs = new Sse.EdgeInputs(random.Next());
        return inputs.Single();
    }

    public ulong Double()
    {
        var inputs = new Sse.EdgeInputs(random.Next());
        return inputs.Double();
    }

    public ulong Integer() => random.Next(6) switch
    {
        0 => unchecked((ulong)(long)random.Next(-5, 5)),
        1 => unchecked((ulong)(long)(short)random.Next()),
        2 => unchecked((ulong)(long)random.Next(int.MinValue, int.MaxValue)),
        _ => (ulong)random.NextInt64() ^ ((ulong)(uint)random.Next(2) << 63),
    };

    public ulong Bcd()
    {
        ulong value = 0;
        for (int i = 0; i < 16; i++)
        {
            value |= (ulong)random.Next(10) << (i * 4);
        }

        return value;
    }

    public unsafe X87Record Record(X87MemoryKind memory)
    {
        var record = new X87Record { ControlWord = ControlWord(), RflagsIn = random.Next(2) == 0 ? 0x2UL : 0x8D7UL };
        var st0 = Extended();
        var st1 = Near(st0);
        var st2 = Extended();
        record.Stack[0] = st0.Item1;
        record.Stack[1] = st0.Item2;
        record.Stack[2] = st1.Item1;
        record.Stack[3] = st1.Item2;
        record.Stack[4] = st2.Item1;
        record.Stack[5] = st2.Item2;
        record.Memory[0] = memory switch
        {
            X87MemoryKind.Single => Single(),
            X87MemoryKind.Double => Double(),
            X87MemoryKind.Integer => Integer(),
            X87MemoryKind.Extended => st2.Item1,
            X87MemoryKind.Bcd => Bcd(),
            _ => (ulong)random.NextInt64(),
        };
        record.Memory[1] = memory switch
        {
            X87MemoryKind.Extended => st2.Item2,
            X87MemoryKind.Bcd => ((ulong)(uint)random.Next(2) << 15) | (uint)(((random.Next(100) / 10) << 4) | random.Next(10)),
            _ => 0,
        };
        return record;
    }

    public X87Record[] Records(X87MemoryKind memory, int count)
    {
        var records = new X87Record[count];
        for (int i = 0; i < count; i++)
        {
            records[i] = Record(memory);
        }

        return records;
    }
}
