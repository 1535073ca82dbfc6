using Iced.Intel;
using Vessel.X86.Cpu.Decoding;

namespace Vessel.X86.Cpu.Execution;

/// <summary>
/// MOVS, CMPS, SCAS, LODS, STOS, INS and OUTS with REP/REPE/REPNE (Intel SDM 2 "REP/REPE/REPZ/REPNE/REPNZ").
/// rSI/rDI/rCX are used at the address size; the source segment may be overridden, the destination is always ES.
/// A repeated instruction runs a bounded number of iterations per execution and then restarts itself, so interrupts
/// are taken in between, and a fault leaves rCX, rSI and rDI describing the iterations already done (SDM 1 §7.3.9.2).
/// Forward REP MOVS/STOS over RAM copy page-sized chunks through host pointers with the same visible result.
/// </summary>
public static unsafe class Strings
{
    /// <summary>Element iterations per execution; a bulk chunk (at most a page) counts as <see cref="BulkChunkCost"/>.</summary>
    private const int IterationsPerExecution = 1024;
    private const int BulkChunkCost = 16;
    private const int SourceIndex = 6;
    private const int DestinationIndex = 7;
    private const int CounterIndex = 1;

    public static void Register(HandlerTable table)
    {
        table.Add(Code.Movsb_m8_m8, &Execute<Move, Width8>);
        table.Add(Code.Movsw_m16_m16, &Execute<Move, Width16>);
        table.Add(Code.Movsd_m32_m32, &Execute<Move, Width32>);
        table.Add(Code.Movsq_m64_m64, &Execute<Move, Width64>);
        table.Add(Code.Cmpsb_m8_m8, &Execute<Compare, Width8>);
        table.Add(Code.Cmpsw_m16_m16, &Execute<Compare, Width16>);
        table.Add(Code.Cmpsd_m32_m32, &Execute<Compare, Width32>);
        table.Add(Code.Cmpsq_m64_m64, &Execute<Compare, Width64>);
        table.Add(Code.Scasb_AL_m8, &Execute<Scan, Width8>);
        table.Add(Code.Scasw_AX_m16, &Execute<Scan, Width16>);
        table.Add(Code.Scasd_EAX_m32, &Execute<Scan, Width32>);
        table.Add(Code.Scasq_RAX_m64, &Execute<Scan, Width64>);
        table.Add(Code.Lodsb_AL_m8, &Execute<Load, Width8>);
        table.Add(Code.Lodsw_AX_m16, &Execute<Load, Width16>);
        table.Add(Code.Lodsd_EAX_m32, &Execute<Load, Width32>);
        table.Add(Code.Lodsq_RAX_m64, &Execute<Load, Width64>);
        table.Add(Code.Stosb_m8_AL, &Execute<Store, Width8>);
        table.Add(Code.Stosw_m16_AX, &Execute<Store, Width16>);
        table.Add(Code.Stosd_m32_EAX, &Execute<Store, Width32>);
        table.Add(Code.Stosq_m64_RAX, &Execute<Store, Width64>);
        table.Add(Code.Insb_m8_DX, &Execute<InputString, Width8>);
        table.Add(Code.Insw_m16_DX, &Execute<InputString, Width16>);
        table.Add(Code.Insd_m32_DX, &Execute<InputString, Width32>);
        table.Add(Code.Outsb_DX_m8, &Execute<OutputString, Width8>);
        table.Add(Code.Outsw_DX_m16, &Execute<OutputString, Width16>);
        table.Add(Code.Outsd_DX_m32, &Execute<OutputString, Width32>);
    }

    private interface IStringOperation
    {
        /// <summary>CMPS and SCAS: REPE/REPNE also stop on ZF.</summary>
        static abstract bool Compares { get; }

        /// <summary>One element; false when it faulted (nothing of that element is committed).</summary>
        static abstract bool Step(Cpu cpu, DecodedInstruction* instruction, int bits, int addressBits, long delta);

        /// <summary>
        /// Up to <paramref name="count"/> forward elements within one page through host pointers; 0 when the next
        /// element needs the element-by-element path (MMIO, a page-straddling element, or no bulk form).
        /// </summary>
        static abstract ulong Bulk(Cpu cpu, DecodedInstruction* instruction, int bits, int addressBits, ulong count, out bool faulted);
    }

    private static void Execute<TOperation, TWidth>(Cpu cpu, DecodedInstruction* instruction)
        where TOperation : IStringOperation
        where TWidth : IWidth
    {
        int bits = TWidth.Bits;
        int addressBits = AddressBits(instruction);
        long delta = (cpu.State->Rflags & (ulong)RflagsBits.Direction) != 0 ? -(bits >> 3) : bits >> 3;
        var prefixes = instruction->Prefixes;
        if ((prefixes & (InstructionPrefixes.Repeat | InstructionPrefixes.RepeatNotEqual)) == 0)
        {
            TOperation.Step(cpu, instruction, bits, addressBits, delta);
            return;
        }

        bool whileNotEqual = (prefixes & InstructionPrefixes.RepeatNotEqual) != 0;
        ulong count = cpu.ReadRegister(CounterIndex, addressBits);
        int iterations = 0;
        bool bulk = delta > 0 && (cpu.State->SegmentChecks == 0 || WithinSegments(cpu, instruction, addressBits, count * (ulong)(bits >> 3)));
        while (count != 0)
        {
            if (iterations >= IterationsPerExecution)
            {
                cpu.Rip -= instruction->Length;
                cpu.StopBlock();
                return;
            }

            if (bulk)
            {
                ulong done = TOperation.Bulk(cpu, instruction, bits, addressBits, count, out bool faulted);
                if (faulted)
                {
                    return;
                }

                if (done != 0)
                {
                    count -= done;
                    cpu.WriteRegister(CounterIndex, addressBits, count);
                    iterations += BulkChunkCost;
                    continue;
                }
            }

            if (!TOperation.Step(cpu, instruction, bits, addressBits, delta))
            {
                return;
            }

            count--;
            cpu.WriteRegister(CounterIndex, addressBits, count);
            iterations++;
            if (TOperation.Compares && cpu.ZeroFlag == whileNotEqual)
            {
                return;
            }
        }
    }

    /// <summary>
    /// Whether <paramref name="bytes"/> from rSI in the source segment and from rDI in a writable ES all lie within their
    /// limits. Bulk chunks check only their first element's address, so they may run under segment checks only then;
    /// otherwise the element path faults at the first element outside (SDM 3A §5.3).
    /// </summary>
    private static bool WithinSegments(Cpu cpu, DecodedInstruction* instruction, int addressBits, ulong bytes)
    {
        var s = cpu.State;
        int bytesInt = (int)Math.Min(bytes, int.MaxValue);
        return bytes == (ulong)bytesInt
            && s->SegmentReadOnly[(int)SegmentRegister.ES] == 0
            && SegmentLimits.Contains(s, instruction->SegmentSlot, cpu.ReadRegister(SourceIndex, addressBits), bytesInt)
            && SegmentLimits.Contains(s, (int)SegmentRegister.ES, cpu.ReadRegister(DestinationIndex, addressBits), bytesInt);
    }

    private static int AddressBits(DecodedInstruction* instruction) => instruction->AddressMask switch
    {
        0xFFFF => 16,
        0xFFFF_FFFF => 32,
        _ => 64,
    };

    /// <summary>
    /// Seg:rSI for one element of <paramref name="bits"/>; poisoned when outside the segment
    /// (<see cref="SegmentLimits"/>).
    /// </summary>
    private static ulong SourceLinear(Cpu cpu, DecodedInstruction* instruction, int addressBits, int bits)
    {
        var s = cpu.State;
        ulong offset = cpu.ReadRegister(SourceIndex, addressBits);
        if (s->SegmentChecks != 0)
        {
            return SegmentLimits.CheckedLinearAddress(s, instruction->SegmentSlot, offset, bits >> 3);
        }

        return (offset + s->SegmentBase[instruction->SegmentSlot]) & instruction->LinearMask;
    }

    /// <summary>
    /// ES:rDI, checked against ES like any other destination (SDM 2 STOS, "#GP(0) If the destination is located in a
    /// non-writable segment" and limit checks); 64-bit mode (the only one with a 64-bit linear mask) ignores ES's base.
    /// </summary>
    private static ulong DestinationLinear(Cpu cpu, DecodedInstruction* instruction, int addressBits, int bits, bool write)
    {
        var s = cpu.State;
        ulong offset = cpu.ReadRegister(DestinationIndex, addressBits);
        if (s->SegmentChecks != 0)
        {
            return SegmentLimits.CheckedLinearAddress(s, (int)SegmentRegister.ES, offset, bits >> 3, write);
        }

        int segment = instruction->LinearMask == ulong.MaxValue ? CpuState.ZeroSegmentSlot : (int)SegmentRegister.ES;
        return (offset + s->SegmentBase[segment]) & instruction->LinearMask;
    }

    private static void Advance(Cpu cpu, int index, int addressBits, long delta) =>
        cpu.WriteRegister(index, addressBits, cpu.ReadRegister(index, addressBits) + (ulong)delta);

    /// <summary>
    /// How many whole elements fit before either pointer leaves its page or its index register wraps at the
    /// address size; bulk chunks stay within that.
    /// </summary>
    private static ulong ElementsInPage(ulong linear, ulong index, int addressBits, int size)
    {
        ulong room = 4096 - (linear & 0xFFF);
        if (addressBits != 64)
        {
            room = Math.Min(room, BlockDecoder.AddressMaskFor(addressBits) - index + 1);
        }

        return room / (ulong)size;
    }

    private struct Move : IStringOperation
    {
        public static bool Compares => false;

        public static bool Step(Cpu cpu, DecodedInstruction* instruction, int bits, int addressBits, long delta)
        {
            if (!cpu.TryReadSized(SourceLinear(cpu, instruction, addressBits, bits), bits, out ulong value)
                || !cpu.TryWriteSized(DestinationLinear(cpu, instruction, addressBits, bits, write: true), bits, value))
            {
                return false;
            }

            Advance(cpu, SourceIndex, addressBits, delta);
            Advance(cpu, DestinationIndex, addressBits, delta);
            return true;
        }

        public static ulong Bulk(Cpu cpu, DecodedInstruction* instruction, int bits, int addressBits, ulong count, out bool faulted)
        {
            int size = bits >> 3;
            ulong sourceLinear = SourceLinear(cpu, instruction, addressBits, bits);
            ulong destinationLinear = DestinationLinear(cpu, instruction, addressBits, bits, write: true);
            ulong elements = Math.Min(count, Math.Min(
                ElementsInPage(sourceLinear, cpu.ReadRegister(SourceIndex, addressBits), addressBits, size),
                ElementsInPage(destinationLinear, cpu.ReadRegister(DestinationIndex, addressBits), addressBits, size)));
            faulted = false;
            if (elements == 0)
            {
                return 0;
            }

            int bytes = (int)elements * size;
            byte* source = cpu.TryGetReadablePointer(sourceLinear, bytes, out faulted);
            if (source == null)
            {
                return 0;
            }

            byte* destination = cpu.TryGetWritablePointer(destinationLinear, bytes, out faulted);
            if (destination == null)
            {
                return 0;
            }

            // Safety: both pointers cover `bytes` bytes inside one RAM page each (checked by the Try...Pointer calls).
            if (destination > source && destination < source + bytes)
            {
                // The destination runs ahead of the source inside the chunk: copy element by element, forward,
                // so earlier stores feed later loads exactly as the instruction does.
                for (int offset = 0; offset < bytes; offset += size)
                {
                    ShiftForms.WriteHost(destination + offset, bits, ShiftForms.ReadHost(source + offset, bits));
                }
            }
            else
            {
                Buffer.MemoryCopy(source, destination, bytes, bytes);
            }

            Advance(cpu, SourceIndex, addressBits, bytes);
            Advance(cpu, DestinationIndex, addressBits, bytes);
            return elements;
        }
    }

    private struct Store : IStringOperation
    {
        public static bool Compares => false;

        public static bool Step(Cpu cpu, DecodedInstruction* instruction, int bits, int addressBits, long delta)
        {
            if (!cpu.TryWriteSized(DestinationLinear(cpu, instruction, addressBits, bits, write: true), bits, cpu.ReadRegister(0, bits)))
            {
                return false;
            }

            Advance(cpu, DestinationIndex, addressBits, delta);
            return true;
        }

        public static ulong Bulk(Cpu cpu, DecodedInstruction* instruction, int bits, int addressBits, ulong count, out bool faulted)
        {
            int size = bits >> 3;
            ulong destinationLinear = DestinationLinear(cpu, instruction, addressBits, bits, write: true);
            ulong elements = Math.Min(count, ElementsInPage(destinationLinear, cpu.ReadRegister(DestinationIndex, addressBits), addressBits, size));
            faulted = false;
            if (elements == 0)
            {
                return 0;
            }

            int bytes = (int)elements * size;
            byte* destination = cpu.TryGetWritablePointer(destinationLinear, bytes, out faulted);
            if (destination == null)
            {
                return 0;
            }

            ulong value = cpu.ReadRegister(0, bits);

            // Safety: the pointer covers `bytes` bytes inside one writable RAM page; x86 allows the unaligned spans.
            switch (bits)
            {
                case 8: new Span<byte>(destination, bytes).Fill((byte)value); break;
                case 16: new Span<ushort>(destination, (int)elements).Fill((ushort)value); break;
                case 32: new Span<uint>(destination, (int)elements).Fill((uint)value); break;
                default: new Span<ulong>(destination, (int)elements).Fill(value); break;
            }

            Advance(cpu, DestinationIndex, addressBits, bytes);
            return elements;
        }
    }

    private struct Compare : IStringOperation
    {
        public static bool Compares => true;

        /// <summary>CMPS subtracts the ES:rDI element from the source element (SDM 2 CMPS).</summary>
        public static bool Step(Cpu cpu, DecodedInstruction* instruction, int bits, int addressBits, long delta)
        {
            if (!cpu.TryReadSized(SourceLinear(cpu, instruction, addressBits, bits), bits, out ulong first)
                || !cpu.TryReadSized(DestinationLinear(cpu, instruction, addressBits, bits, write: false), bits, out ulong second))
            {
                return false;
            }

            cpu.SetLazyFlags(FlagOperation.Sub, bits, first, second, first - second);
            Advance(cpu, SourceIndex, addressBits, delta);
            Advance(cpu, DestinationIndex, addressBits, delta);
            return true;
        }

        public static ulong Bulk(Cpu cpu, DecodedInstruction* instruction, int bits, int addressBits, ulong count, out bool faulted)
        {
            faulted = false;
            return 0;
        }
    }

    private struct Scan : IStringOperation
    {
        public static bool Compares => true;

        public static bool Step(Cpu cpu, DecodedInstruction* instruction, int bits, int addressBits, long delta)
        {
            if (!cpu.TryReadSized(DestinationLinear(cpu, instruction, addressBits, bits, write: false), bits, out ulong element))
            {
                return false;
            }

            ulong accumulator = cpu.ReadRegister(0, bits);
            cpu.SetLazyFlags(FlagOperation.Sub, bits, accumulator, element, accumulator - element);
            Advance(cpu, DestinationIndex, addressBits, delta);
            return true;
        }

        public static ulong Bulk(Cpu cpu, DecodedInstruction* instruction, int bits, int addressBits, ulong count, out bool faulted)
        {
            faulted = false;
            return 0;
        }
    }

    private struct Load : IStringOperation
    {
        public static bool Compares => false;

        public static bool Step(Cpu cpu, DecodedInstruction* instruction, int bits, int addressBits, long delta)
        {
            if (!cpu.TryReadSized(SourceLinear(cpu, instruction, addressBits, bits), bits, out ulong value))
            {
                return false;
            }

            cpu.WriteRegister(0, bits, value);
            Advance(cpu, SourceIndex, addressBits, delta);
            return true;
        }

        public static ulong Bulk(Cpu cpu, DecodedInstruction* instruction, int bits, int addressBits, ulong count, out bool faulted)
        {
            faulted = false;
            return 0;
        }
    }

    /// <summary>INS: the destination is checked for writing before the port is read, so a fault loses no device data.</summary>
    private struct InputString : IStringOperation
    {
        public static bool Compares => false;

        public static bool Step(Cpu cpu, DecodedInstruction* instruction, int bits, int addressBits, long delta)
        {
            ushort port = (ushort)cpu.State->Gpr[2];
            int size = bits >> 3;
            if (!cpu.CheckIoPermission(port, size))
            {
                return false;
            }

            ulong linear = DestinationLinear(cpu, instruction, addressBits, bits, write: true);
            byte* pointer = cpu.TryGetWritablePointer(linear, size, out bool faulted);
            if (faulted)
            {
                return false;
            }

            Span<byte> data = stackalloc byte[4];
            data = data[..size];
            cpu.Io.PortRead(port, data);
            if (pointer != null)
            {
                // Safety: the pointer covers `size` writable bytes of one RAM page.
                data.CopyTo(new Span<byte>(pointer, size));
            }
            else if (!cpu.TryWriteBytes(linear, data))
            {
                return false;
            }

            Advance(cpu, DestinationIndex, addressBits, delta);
            cpu.StopBlock();
            return true;
        }

        public static ulong Bulk(Cpu cpu, DecodedInstruction* instruction, int bits, int addressBits, ulong count, out bool faulted)
        {
            faulted = false;
            return 0;
        }
    }

    private struct OutputString : IStringOperation
    {
        public static bool Compares => false;

        public static bool Step(Cpu cpu, DecodedInstruction* instruction, int bits, int addressBits, long delta)
        {
            ushort port = (ushort)cpu.State->Gpr[2];
            int size = bits >> 3;
            if (!cpu.CheckIoPermission(port, size)
                || !cpu.TryReadSized(SourceLinear(cpu, instruction, addressBits, bits), bits, out ulong value))
            {
                return false;
            }

            Span<byte> data = stackalloc byte[4];
            BitConverter.TryWriteBytes(data, (uint)value);
            cpu.Io.PortWrite(port, data[..size]);
            Advance(cpu, SourceIndex, addressBits, delta);
            cpu.StopBlock();
            return true;
        }

        public static ulong Bulk(Cpu cpu, DecodedInstruction* instruction, int bits, int addressBits, ulong count, out bool faulted)
        {
            faulted = false;
            return 0;
        }
    }
}
