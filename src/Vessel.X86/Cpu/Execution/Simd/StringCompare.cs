using System.Runtime.Intrinsics;
using Iced.Intel;
using Vessel.X86.Cpu.Decoding;

namespace Vessel.X86.Cpu.Execution.Simd;

/// <summary>
/// SSE4.2 packed string compares PCMPESTRI, PCMPESTRM, PCMPISTRI, PCMPISTRM (Intel SDM 2 §4.1): the imm8 control byte
/// picks the element format, the aggregation (equal any, ranges, equal each, equal ordered), the polarity and the
/// output (index in ECX or mask in XMM0). Lengths are explicit (EAX/EDX, RAX/RDX with REX.W) or implicit (up to the
/// first zero element). Memory operands need no alignment.
/// </summary>
public static unsafe class StringCompare
{
    public static void Register(HandlerTable table)
    {
        table.Add(Code.Pcmpestri_xmm_xmmm128_imm8, &Compare<RegisterForm, Explicit32, IndexOutput>, &Compare<MemoryForm, Explicit32, IndexOutput>);
        table.Add(Code.Pcmpestri64_xmm_xmmm128_imm8, &Compare<RegisterForm, Explicit64, IndexOutput>, &Compare<MemoryForm, Explicit64, IndexOutput>);
        table.Add(Code.Pcmpestrm_xmm_xmmm128_imm8, &Compare<RegisterForm, Explicit32, MaskOutput>, &Compare<MemoryForm, Explicit32, MaskOutput>);
        table.Add(Code.Pcmpestrm64_xmm_xmmm128_imm8, &Compare<RegisterForm, Explicit64, MaskOutput>, &Compare<MemoryForm, Explicit64, MaskOutput>);
        table.Add(Code.Pcmpistri_xmm_xmmm128_imm8, &Compare<RegisterForm, Implicit, IndexOutput>, &Compare<MemoryForm, Implicit, IndexOutput>);
        table.Add(Code.Pcmpistrm_xmm_xmmm128_imm8, &Compare<RegisterForm, Implicit, MaskOutput>, &Compare<MemoryForm, Implicit, MaskOutput>);
    }

    /// <summary>How the two string lengths are found.</summary>
    private interface ILength
    {
        static abstract int Length(Cpu cpu, Vector128<byte> value, int register, int elements, bool words);
    }

    private readonly struct Implicit : ILength
    {
        public static int Length(Cpu cpu, Vector128<byte> value, int register, int elements, bool words)
        {
            for (int i = 0; i < elements; i++)
            {
                if ((words ? value.AsUInt16().GetElement(i) : value.GetElement(i)) == 0)
                {
                    return i;
                }
            }

            return elements;
        }
    }

    /// <summary>EAX (first operand) and EDX (second): the absolute value, saturated to the element count.</summary>
    private readonly struct Explicit32 : ILength
    {
        public static int Length(Cpu cpu, Vector128<byte> value, int register, int elements, bool words)
        {
            long length = (int)cpu.State->Gpr[register];
            return (int)Math.Min(Math.Abs(length), elements);
        }
    }

    private readonly struct Explicit64 : ILength
    {
        public static int Length(Cpu cpu, Vector128<byte> value, int register, int elements, bool words)
        {
            long length = (long)cpu.State->Gpr[register];
            return length == long.MinValue ? elements : (int)Math.Min(Math.Abs(length), elements);
        }
    }

    /// <summary>Where the result goes: an index in ECX, or a mask in XMM0.</summary>
    private interface IOutput
    {
        static abstract void Write(Cpu cpu, uint result, int elements, bool words, int control);
    }

    private readonly struct IndexOutput : IOutput
    {
        public static void Write(Cpu cpu, uint result, int elements, bool words, int control)
        {
            int index = result == 0 ? elements
                : (control & 0x40) != 0 ? 31 - System.Numerics.BitOperations.LeadingZeroCount(result)
                : System.Numerics.BitOperations.TrailingZeroCount(result);
            cpu.State->Gpr[1] = (uint)index;
        }
    }

    private readonly struct MaskOutput : IOutput
    {
        public static void Write(Cpu cpu, uint result, int elements, bool words, int control)
        {
            Vector128<byte> mask;
            if ((control & 0x40) == 0)
            {
                mask = Vector128.CreateScalar(result).AsByte();
            }
            else if (words)
            {
                var expanded = Vector128<ushort>.Zero;
                for (int i = 0; i < 8; i++)
                {
                    expanded = expanded.WithElement(i, (result & (1u << i)) != 0 ? (ushort)0xFFFF : (ushort)0);
                }

                mask = expanded.AsByte();
            }
            else
            {
                mask = Vector128<byte>.Zero;
                for (int i = 0; i < 16; i++)
                {
                    mask = mask.WithElement(i, (result & (1u << i)) != 0 ? (byte)0xFF : (byte)0);
                }
            }

            *SimdOperands.Xmm(cpu, 0) = mask;
        }
    }

    private static void Compare<TForm, TLength, TOutput>(Cpu cpu, DecodedInstruction* instruction)
        where TForm : IOperandForm
        where TLength : ILength
        where TOutput : IOutput
    {
        if (!cpu.SseAvailable() || !SimdOperands.TryReadSource<TForm>(cpu, instruction, aligned: false, out var second))
        {
            return;
        }

        int control = (byte)instruction->Immediate;
        bool words = (control & 1) != 0;
        int elements = words ? 8 : 16;
        var first = *SimdOperands.Xmm(cpu, instruction->Operand0Register);
        int firstLength = TLength.Length(cpu, first, 0, elements, words);
        int secondLength = TLength.Length(cpu, second, 2, elements, words);
        uint result = Aggregate(first, second, firstLength, secondLength, control, elements);

        result = ((control >> 4) & 3) switch
        {
            1 => ~result & ((1u << elements) - 1),
            3 => result ^ ((1u << secondLength) - 1),
            _ => result,
        };

        TOutput.Write(cpu, result, elements, words, control);
        ulong flags = 0;
        if (result != 0)
        {
            flags |= (ulong)RflagsBits.Carry;
        }

        if (secondLength < elements)
        {
            flags |= (ulong)RflagsBits.Zero;
        }

        if (firstLength < elements)
        {
            flags |= (ulong)RflagsBits.Sign;
        }

        if ((result & 1) != 0)
        {
            flags |= (ulong)RflagsBits.Overflow;
        }

        cpu.Rflags = (cpu.Rflags & ~(ulong)RflagsBits.Arithmetic) | flags;
    }

    private static int Element(Vector128<byte> value, int index, int control) => (control & 3) switch
    {
        0 => value.GetElement(index),
        1 => value.AsUInt16().GetElement(index),
        2 => value.AsSByte().GetElement(index),
        _ => value.AsInt16().GetElement(index),
    };

    /// <summary>IntRes1 of SDM 2 §4.1.4-4.1.6: one bit per element of the second operand.</summary>
    private static uint Aggregate(Vector128<byte> first, Vector128<byte> second, int firstLength, int secondLength, int control, int elements)
    {
        uint result = 0;
        switch ((control >> 2) & 3)
        {
            case 0:
                // Equal any: is second[i] one of the valid first elements?
                for (int i = 0; i < secondLength; i++)
                {
                    int value = Element(second, i, control);
                    for (int j = 0; j < firstLength; j++)
                    {
                        if (Element(first, j, control) == value)
                        {
                            result |= 1u << i;
                            break;
                        }
                    }
                }

                break;
            case 1:
                // Ranges: is second[i] within one of the [first[j], first[j+1]] pairs?
                for (int i = 0; i < secondLength; i++)
                {
                    int value = Element(second, i, control);
                    for (int j = 0; j + 1 < firstLength; j += 2)
                    {
                        if (Element(first, j, control) <= value && value <= Element(first, j + 1, control))
                        {
                            result |= 1u << i;
                            break;
                        }
                    }
                }

                break;
            case 2:
                // Equal each: element-wise equality; two invalid elements compare equal, one invalid does not.
                for (int i = 0; i < elements; i++)
                {
                    bool firstValid = i < firstLength;
                    bool secondValid = i < secondLength;
                    bool equal = firstValid && secondValid ? Element(first, i, control) == Element(second, i, control) : firstValid == secondValid;
                    if (equal)
                    {
                        result |= 1u << i;
                    }
                }

                break;
            default:
                // Equal ordered: does the first string occur in the second starting at i? Past the end of the first
                // string everything matches; past the end of the second string nothing does.
                for (int i = 0; i < elements; i++)
                {
                    bool match = true;
                    for (int k = 0; i + k < elements && k < firstLength; k++)
                    {
                        if (i + k >= secondLength || Element(first, k, control) != Element(second, i + k, control))
                        {
                            match = false;
                            break;
                        }
                    }

                    if (match)
                    {
                        result |= 1u << i;
                    }
                }

                break;
        }

        return result;
    }
}
