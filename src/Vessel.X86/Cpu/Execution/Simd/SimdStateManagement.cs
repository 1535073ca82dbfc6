using Iced.Intel;
using Vessel.X86.Cpu.Decoding;
using Vessel.X86.Cpu.Fpu;

namespace Vessel.X86.Cpu.Execution.Simd;

/// <summary>
/// LDMXCSR/STMXCSR and FXSAVE/FXRSTOR (Intel SDM 1 §10.5, SDM 2 FXSAVE Tables 3-53 to 3-56). XSAVE is not advertised,
/// so XSAVE, XRSTOR, XGETBV and XSETBV raise #UD like a CPU without it.
/// </summary>
public static unsafe class SimdStateManagement
{
    /// <summary>Bytes of the FXSAVE image we write: the header, eight x87 registers and sixteen XMM registers.</summary>
    public const int ImageBytes = 416;

    public static void Register(HandlerTable table)
    {
        table.Add(Code.Ldmxcsr_m32, &LoadMxcsr);
        table.Add(Code.Stmxcsr_m32, &StoreMxcsr);
        table.Add(Code.Fxsave_m512byte, &Save<LegacyLayout>);
        table.Add(Code.Fxsave64_m512byte, &Save<WideLayout>);
        table.Add(Code.Fxrstor_m512byte, &Restore<LegacyLayout>);
        table.Add(Code.Fxrstor64_m512byte, &Restore<WideLayout>);
        foreach (var mnemonic in new[] { "Xsave", "Xsave64", "Xrstor", "Xrstor64", "Xsaveopt", "Xsaveopt64", "Xsavec", "Xsavec64", "Xsaves", "Xsaves64", "Xrstors", "Xrstors64", "Xgetbv", "Xsetbv" })
        {
            foreach (var (code, _) in CodeFamily.Of(mnemonic))
            {
                table.Add(code, &InvalidOpcode);
            }
        }
    }

    /// <summary>FXSAVE with or without REX.W: 64-bit FIP/FDP, or 32-bit offsets with selectors.</summary>
    private interface IImageLayout
    {
        static abstract bool Wide { get; }
    }

    private readonly struct LegacyLayout : IImageLayout
    {
        public static bool Wide => false;
    }

    private readonly struct WideLayout : IImageLayout
    {
        public static bool Wide => true;
    }

    private static void InvalidOpcode(Cpu cpu, DecodedInstruction* instruction) => cpu.RaiseInvalidOpcode();

    /// <summary>LDMXCSR: #GP(0) when a reserved bit (outside MXCSR_MASK) is set (SDM 2 LDMXCSR).</summary>
    private static void LoadMxcsr(Cpu cpu, DecodedInstruction* instruction)
    {
        if (!cpu.SseAvailable() || !cpu.TryRead(instruction->LinearAddress(cpu.State), out uint value))
        {
            return;
        }

        if ((value & ~MxcsrBits.WritableMask) != 0)
        {
            cpu.RaiseGeneralProtection(0);
            return;
        }

        cpu.Fpu->Mxcsr = value;
    }

    private static void StoreMxcsr(Cpu cpu, DecodedInstruction* instruction)
    {
        if (cpu.SseAvailable())
        {
            cpu.TryWrite(instruction->LinearAddress(cpu.State), cpu.Fpu->Mxcsr);
        }
    }

    /// <summary>FXSAVE and FXRSTOR need only CR0.EM and CR0.TS clear: #NM otherwise (SDM 2 FXSAVE "Protected Mode Exceptions").</summary>
    private static bool TryGetImageAddress(Cpu cpu, DecodedInstruction* instruction, out ulong address)
    {
        address = instruction->LinearAddress(cpu.State);
        if ((cpu.Cr0 & (ulong)(ControlRegister0.Emulation | ControlRegister0.TaskSwitched)) != 0)
        {
            cpu.RaiseException(ExceptionVector.DeviceNotAvailable);
            return false;
        }

        if ((address & 15) != 0)
        {
            cpu.RaiseGeneralProtection(0);
            return false;
        }

        return true;
    }

    private static void Save<TLayout>(Cpu cpu, DecodedInstruction* instruction)
        where TLayout : IImageLayout
    {
        if (!TryGetImageAddress(cpu, instruction, out ulong address))
        {
            return;
        }

        Span<byte> image = stackalloc byte[ImageBytes];
        image.Clear();
        WriteImage(cpu, image, TLayout.Wide);
        cpu.TryWriteBytes(address, image);
    }

    /// <summary>Fills an FXSAVE image (SDM 2 FXSAVE Tables 3-53 and 3-56).</summary>
    public static void WriteImage(Cpu cpu, Span<byte> image, bool wide)
    {
        var fpu = cpu.Fpu;
        BitConverterWrite(image, 0, fpu->ControlWord);
        BitConverterWrite(image, 2, fpu->FullStatusWord);
        image[4] = fpu->TagValid;
        BitConverterWrite(image, 6, fpu->Opcode);
        if (wide)
        {
            BitConverterWrite(image, 8, fpu->InstructionPointer);
            BitConverterWrite(image, 16, fpu->DataPointer);
        }
        else
        {
            BitConverterWrite(image, 8, (uint)fpu->InstructionPointer);
            BitConverterWrite(image, 12, fpu->InstructionSelector);
            BitConverterWrite(image, 16, (uint)fpu->DataPointer);
            BitConverterWrite(image, 20, fpu->DataSelector);
        }

        bool sse = (cpu.Cr4 & (ulong)ControlRegister4.OsFxsr) != 0;
        if (sse)
        {
            BitConverterWrite(image, 24, fpu->Mxcsr);
            BitConverterWrite(image, 28, MxcsrBits.WritableMask);
        }

        for (int i = 0; i < 8; i++)
        {
            int physical = (fpu->Top + i) & 7;
            BitConverterWrite(image, 32 + (i * 16), fpu->Physical[physical * 2]);
            BitConverterWrite(image, 40 + (i * 16), (ushort)fpu->Physical[(physical * 2) + 1]);
        }

        if (sse)
        {
            int registers = cpu.CodeBits == 64 ? 16 : 8;
            for (int i = 0; i < registers * 2; i++)
            {
                BitConverterWrite(image, 160 + (i * 8), fpu->Xmm[i]);
            }
        }
    }

    private static void Restore<TLayout>(Cpu cpu, DecodedInstruction* instruction)
        where TLayout : IImageLayout
    {
        if (!TryGetImageAddress(cpu, instruction, out ulong address))
        {
            return;
        }

        // Read the whole image first so a fault leaves the registers untouched.
        Span<byte> image = stackalloc byte[ImageBytes];
        if (!cpu.TryReadBytes(address, image, Paging.AccessKind.Read))
        {
            return;
        }

        bool sse = (cpu.Cr4 & (ulong)ControlRegister4.OsFxsr) != 0;
        uint mxcsr = BitConverter.ToUInt32(image[24..]);
        if (sse && (mxcsr & ~MxcsrBits.WritableMask) != 0)
        {
            cpu.RaiseGeneralProtection(0);
            return;
        }

        var fpu = cpu.Fpu;
        fpu->ControlWord = BitConverter.ToUInt16(image);
        ushort status = BitConverter.ToUInt16(image[2..]);
        fpu->StatusWord = (ushort)(status & ~0x3800);
        fpu->Top = (status >> 11) & 7;
        fpu->TagValid = image[4];
        fpu->Opcode = (ushort)(BitConverter.ToUInt16(image[6..]) & 0x7FF);
        if (TLayout.Wide)
        {
            fpu->InstructionPointer = BitConverter.ToUInt64(image[8..]);
            fpu->DataPointer = BitConverter.ToUInt64(image[16..]);
            fpu->InstructionSelector = 0;
            fpu->DataSelector = 0;
        }
        else
        {
            fpu->InstructionPointer = BitConverter.ToUInt32(image[8..]);
            fpu->InstructionSelector = BitConverter.ToUInt16(image[12..]);
            fpu->DataPointer = BitConverter.ToUInt32(image[16..]);
            fpu->DataSelector = BitConverter.ToUInt16(image[20..]);
        }

        for (int i = 0; i < 8; i++)
        {
            int physical = (fpu->Top + i) & 7;
            fpu->Physical[physical * 2] = BitConverter.ToUInt64(image[(32 + (i * 16))..]);
            fpu->Physical[(physical * 2) + 1] = BitConverter.ToUInt16(image[(40 + (i * 16))..]);
        }

        if (sse)
        {
            fpu->Mxcsr = mxcsr;
            int registers = cpu.CodeBits == 64 ? 16 : 8;
            for (int i = 0; i < registers * 2; i++)
            {
                fpu->Xmm[i] = BitConverter.ToUInt64(image[(160 + (i * 8))..]);
            }
        }
    }

    private static void BitConverterWrite<T>(Span<byte> image, int offset, T value)
        where T : unmanaged =>
        System.Runtime.InteropServices.MemoryMarshal.Write(image[offset..], in value);
}
