using Iced.Intel;
using Vessel.X86.Cpu.Decoding;
using Vessel.X86.Cpu.Fpu;

namespace Vessel.X86.Cpu.Execution.X87;

/// <summary>
/// x87 control instructions (Intel SDM 1 §8.3.10-8.3.13): FLDCW/FNSTCW, FNSTSW, FNCLEX, FNINIT, FLDENV/FNSTENV,
/// FNSAVE/FRSTOR, FFREE, FINCSTP/FDECSTP, FNOP and FWAIT. The "FN" forms do not wait for pending exceptions; the
/// waiting forms Iced decodes as one instruction (FSTSW, FINIT, ...) check them first.
/// </summary>
public static unsafe class X87Control
{
    private const ushort ReservedHigh = 0xFFFF;

    public static void Register(HandlerTable table)
    {
        table.Add(Code.Fldcw_m2byte, &LoadControlWord);
        table.Add(Code.Fnstcw_m2byte, &StoreControlWord<NoWait>);
        table.Add(Code.Fstcw_m2byte, &StoreControlWord<Wait>);
        table.Add(Code.Fnstsw_m2byte, &StoreStatusWord<NoWait>);
        table.Add(Code.Fstsw_m2byte, &StoreStatusWord<Wait>);
        table.Add(Code.Fnstsw_AX, &StoreStatusWordToAx<NoWait>);
        table.Add(Code.Fstsw_AX, &StoreStatusWordToAx<Wait>);
        table.Add(Code.Fnclex, &ClearExceptions<NoWait>);
        table.Add(Code.Fclex, &ClearExceptions<Wait>);
        table.Add(Code.Fninit, &Initialize<NoWait>);
        table.Add(Code.Finit, &Initialize<Wait>);
        table.Add(Code.Fnstenv_m14byte, &StoreEnvironment<NoWait>);
        table.Add(Code.Fnstenv_m28byte, &StoreEnvironment<NoWait>);
        table.Add(Code.Fstenv_m14byte, &StoreEnvironment<Wait>);
        table.Add(Code.Fstenv_m28byte, &StoreEnvironment<Wait>);
        table.Add(Code.Fldenv_m14byte, &LoadEnvironment);
        table.Add(Code.Fldenv_m28byte, &LoadEnvironment);
        table.Add(Code.Fnsave_m94byte, &Save<NoWait>);
        table.Add(Code.Fnsave_m108byte, &Save<NoWait>);
        table.Add(Code.Fsave_m94byte, &Save<Wait>);
        table.Add(Code.Fsave_m108byte, &Save<Wait>);
        table.Add(Code.Frstor_m94byte, &Restore);
        table.Add(Code.Frstor_m108byte, &Restore);
        table.Add(Code.Ffree_sti, &Free<X87Arithmetic.NoPop>);
        table.Add(Code.Ffreep_sti, &Free<X87Arithmetic.PopAfter>);
        table.Add(Code.Fincstp, &IncrementStackPointer);
        table.Add(Code.Fdecstp, &DecrementStackPointer);
        table.Add(Code.Fnop, &NoOperation);

        // The 8087's FENI/FDISI and the 287's FSETPM do nothing on the 387 and later (Intel 387 Programmer's Reference).
        foreach (var code in new[] { Code.Fneni, Code.Feni, Code.Fndisi, Code.Fdisi, Code.Fnsetpm, Code.Fsetpm })
        {
            table.Add(code, &Ignored);
        }
        table.Add(Code.Wait, &WaitForExceptions);
    }

    /// <summary>Whether the instruction first checks for pending unmasked exceptions (#MF).</summary>
    private interface IWaiting
    {
        static abstract bool Waits { get; }
    }

    private readonly struct Wait : IWaiting
    {
        public static bool Waits => true;
    }

    private readonly struct NoWait : IWaiting
    {
        public static bool Waits => false;
    }

    /// <summary>#NM (and, for waiting forms, #MF) before a control instruction; FIP is not updated by these.</summary>
    private static bool Begin<TWaiting>(Cpu cpu)
        where TWaiting : IWaiting
    {
        if (!cpu.X87Available())
        {
            return false;
        }

        if (TWaiting.Waits && (cpu.Fpu->StatusWord & X87StatusWord.ErrorSummary) != 0 && (cpu.Cr0 & (ulong)ControlRegister0.NumericError) != 0)
        {
            cpu.RaiseException(ExceptionVector.FloatingPointError);
            return false;
        }

        return true;
    }

    /// <summary>ES and B follow the unmasked exception flags after a new control or status word is loaded (SDM 1 §8.1.3.1).</summary>
    public static void UpdateErrorSummary(FpuState* fpu)
    {
        ushort status = (ushort)(fpu->StatusWord & ~(X87StatusWord.ErrorSummary | X87StatusWord.Busy));
        if ((status & ~fpu->ControlWord & X87StatusWord.ExceptionFlags) != 0)
        {
            status |= X87StatusWord.ErrorSummary | X87StatusWord.Busy;
        }

        fpu->StatusWord = status;
    }

    /// <summary>FLDCW: bit 6 always reads as 1 and bits 13-15 as 0 (SDM 1 §8.1.5, Figure 8-6).</summary>
    private static void LoadControlWord(Cpu cpu, DecodedInstruction* instruction)
    {
        if (Begin<Wait>(cpu) && cpu.TryRead(instruction->LinearAddress(cpu.State), out ushort value))
        {
            SetControlWord(cpu.Fpu, value);
        }
    }

    private static void SetControlWord(FpuState* fpu, ushort value)
    {
        fpu->ControlWord = (ushort)((value & X87ControlWord.Writable) | 0x40);
        UpdateErrorSummary(fpu);
    }

    private static void StoreControlWord<TWaiting>(Cpu cpu, DecodedInstruction* instruction)
        where TWaiting : IWaiting
    {
        if (Begin<TWaiting>(cpu))
        {
            cpu.TryWrite(instruction->LinearAddress(cpu.State), cpu.Fpu->ControlWord);
        }
    }

    private static void StoreStatusWord<TWaiting>(Cpu cpu, DecodedInstruction* instruction)
        where TWaiting : IWaiting
    {
        if (Begin<TWaiting>(cpu))
        {
            cpu.TryWrite(instruction->LinearAddress(cpu.State), cpu.Fpu->FullStatusWord);
        }
    }

    private static void StoreStatusWordToAx<TWaiting>(Cpu cpu, DecodedInstruction* instruction)
        where TWaiting : IWaiting
    {
        if (Begin<TWaiting>(cpu))
        {
            cpu.WriteRegister(0, 16, cpu.Fpu->FullStatusWord);
        }
    }

    /// <summary>FNCLEX: clears the exception flags, SF, ES and B (SDM 2 FCLEX).</summary>
    private static void ClearExceptions<TWaiting>(Cpu cpu, DecodedInstruction* instruction)
        where TWaiting : IWaiting
    {
        if (Begin<TWaiting>(cpu))
        {
            cpu.Fpu->StatusWord &= 0x7F00;
        }
    }

    private static void Initialize<TWaiting>(Cpu cpu, DecodedInstruction* instruction)
        where TWaiting : IWaiting
    {
        if (Begin<TWaiting>(cpu))
        {
            cpu.Fpu->InitializeX87();
        }
    }

    /// <summary>The full two-bit tag of each physical register, computed from its contents (SDM 1 §8.1.7).</summary>
    public static ushort FullTagWord(FpuState* fpu)
    {
        ushort tags = 0;
        for (int physical = 0; physical < 8; physical++)
        {
            int tag;
            if ((fpu->TagValid & (1 << physical)) == 0)
            {
                tag = 3;
            }
            else
            {
                ulong significand = fpu->Physical[physical * 2];
                int exponent = (int)(fpu->Physical[(physical * 2) + 1] & 0x7FFF);
                tag = exponent == 0x7FFF || (exponent == 0 && significand != 0) || (exponent != 0 && (significand >> 63) == 0)
                    ? 2
                    : exponent == 0 ? 1 : 0;
            }

            tags |= (ushort)(tag << (physical * 2));
        }

        return tags;
    }

    /// <summary>
    /// The protected-mode environment image (SDM 1 §8.1.10, Figures 8-9 and 8-10): 28 bytes with 32-bit operand size,
    /// 14 with 16-bit. Real-mode images use the same layout here.
    /// </summary>
    private static int WriteEnvironment(Cpu cpu, Span<byte> image, bool wide)
    {
        var fpu = cpu.Fpu;
        if (wide)
        {
            Write32(image, 0, (uint)(fpu->ControlWord | (ReservedHigh << 16)));
            Write32(image, 4, (uint)(fpu->FullStatusWord | (ReservedHigh << 16)));
            Write32(image, 8, (uint)(FullTagWord(fpu) | (ReservedHigh << 16)));
            Write32(image, 12, (uint)fpu->InstructionPointer);
            Write32(image, 16, (uint)(fpu->InstructionSelector | ((fpu->Opcode & 0x7FF) << 16)));
            Write32(image, 20, (uint)fpu->DataPointer);
            Write32(image, 24, (uint)(fpu->DataSelector | (ReservedHigh << 16)));
            return 28;
        }

        Write16(image, 0, fpu->ControlWord);
        Write16(image, 2, fpu->FullStatusWord);
        Write16(image, 4, FullTagWord(fpu));
        Write16(image, 6, (ushort)fpu->InstructionPointer);
        Write16(image, 8, fpu->InstructionSelector);
        Write16(image, 10, (ushort)fpu->DataPointer);
        Write16(image, 12, fpu->DataSelector);
        return 14;
    }

    private static void ReadEnvironment(FpuState* fpu, ReadOnlySpan<byte> image, bool wide)
    {
        ushort control;
        ushort status;
        ushort tags;
        if (wide)
        {
            control = BitConverter.ToUInt16(image);
            status = BitConverter.ToUInt16(image[4..]);
            tags = BitConverter.ToUInt16(image[8..]);
            fpu->InstructionPointer = BitConverter.ToUInt32(image[12..]);
            fpu->InstructionSelector = BitConverter.ToUInt16(image[16..]);
            fpu->Opcode = (ushort)(BitConverter.ToUInt16(image[18..]) & 0x7FF);
            fpu->DataPointer = BitConverter.ToUInt32(image[20..]);
            fpu->DataSelector = BitConverter.ToUInt16(image[24..]);
        }
        else
        {
            control = BitConverter.ToUInt16(image);
            status = BitConverter.ToUInt16(image[2..]);
            tags = BitConverter.ToUInt16(image[4..]);
            fpu->InstructionPointer = BitConverter.ToUInt16(image[6..]);
            fpu->InstructionSelector = BitConverter.ToUInt16(image[8..]);
            fpu->DataPointer = BitConverter.ToUInt16(image[10..]);
            fpu->DataSelector = BitConverter.ToUInt16(image[12..]);
        }

        fpu->ControlWord = (ushort)((control & X87ControlWord.Writable) | 0x40);
        fpu->StatusWord = (ushort)(status & ~X87StatusWord.TopMask);
        fpu->Top = (status >> X87StatusWord.TopShift) & 7;
        byte valid = 0;
        for (int physical = 0; physical < 8; physical++)
        {
            if (((tags >> (physical * 2)) & 3) != 3)
            {
                valid |= (byte)(1 << physical);
            }
        }

        fpu->TagValid = valid;
        UpdateErrorSummary(fpu);
    }

    private static bool IsWide(DecodedInstruction* instruction) => instruction->Iced.MemorySize.GetSize() is 28 or 108;

    /// <summary>FNSTENV: stores the environment, then masks all exceptions (SDM 2 FSTENV).</summary>
    private static void StoreEnvironment<TWaiting>(Cpu cpu, DecodedInstruction* instruction)
        where TWaiting : IWaiting
    {
        if (!Begin<TWaiting>(cpu))
        {
            return;
        }

        Span<byte> image = stackalloc byte[28];
        int length = WriteEnvironment(cpu, image, IsWide(instruction));
        if (cpu.TryWriteBytes(instruction->LinearAddress(cpu.State), image[..length]))
        {
            cpu.Fpu->ControlWord |= X87ControlWord.ExceptionMasks;
        }
    }

    private static void LoadEnvironment(Cpu cpu, DecodedInstruction* instruction)
    {
        if (!Begin<NoWait>(cpu))
        {
            return;
        }

        bool wide = IsWide(instruction);
        Span<byte> image = stackalloc byte[28];
        image = image[..(wide ? 28 : 14)];
        if (cpu.TryReadBytes(instruction->LinearAddress(cpu.State), image, Paging.AccessKind.Read))
        {
            ReadEnvironment(cpu.Fpu, image, wide);
        }
    }

    /// <summary>FNSAVE: the environment, then ST(0)-ST(7) as 10-byte values; then FNINIT (SDM 2 FSAVE).</summary>
    private static void Save<TWaiting>(Cpu cpu, DecodedInstruction* instruction)
        where TWaiting : IWaiting
    {
        if (!Begin<TWaiting>(cpu))
        {
            return;
        }

        var fpu = cpu.Fpu;
        Span<byte> image = stackalloc byte[108];
        int offset = WriteEnvironment(cpu, image, IsWide(instruction));
        for (int i = 0; i < 8; i++)
        {
            int physical = X87Stack.PhysicalIndex(fpu, i);
            System.Runtime.InteropServices.MemoryMarshal.Write(image[(offset + (i * 10))..], in fpu->Physical[physical * 2]);
            Write16(image, offset + (i * 10) + 8, (ushort)fpu->Physical[(physical * 2) + 1]);
        }

        if (cpu.TryWriteBytes(instruction->LinearAddress(cpu.State), image[..(offset + 80)]))
        {
            fpu->InitializeX87();
        }
    }

    private static void Restore(Cpu cpu, DecodedInstruction* instruction)
    {
        if (!Begin<NoWait>(cpu))
        {
            return;
        }

        bool wide = IsWide(instruction);
        int environmentBytes = wide ? 28 : 14;
        Span<byte> image = stackalloc byte[108];
        image = image[..(environmentBytes + 80)];
        if (!cpu.TryReadBytes(instruction->LinearAddress(cpu.State), image, Paging.AccessKind.Read))
        {
            return;
        }

        var fpu = cpu.Fpu;
        ReadEnvironment(fpu, image, wide);
        for (int i = 0; i < 8; i++)
        {
            int physical = X87Stack.PhysicalIndex(fpu, i);
            fpu->Physical[physical * 2] = BitConverter.ToUInt64(image[(environmentBytes + (i * 10))..]);
            fpu->Physical[(physical * 2) + 1] = BitConverter.ToUInt16(image[(environmentBytes + (i * 10) + 8)..]);
        }
    }

    private static void Free<TPop>(Cpu cpu, DecodedInstruction* instruction)
        where TPop : X87Arithmetic.IPop
    {
        if (!X87Stack.Begin(cpu, instruction))
        {
            return;
        }

        var fpu = cpu.Fpu;
        fpu->TagValid &= (byte)~(1 << X87Stack.PhysicalIndex(fpu, instruction->Operand0Register));
        if (TPop.Pop)
        {
            X87Stack.Pop(fpu);
        }
    }

    private static void IncrementStackPointer(Cpu cpu, DecodedInstruction* instruction)
    {
        if (X87Stack.Begin(cpu, instruction))
        {
            cpu.Fpu->Top = (cpu.Fpu->Top + 1) & 7;
            cpu.Fpu->StatusWord &= unchecked((ushort)~X87StatusWord.C1);
        }
    }

    private static void DecrementStackPointer(Cpu cpu, DecodedInstruction* instruction)
    {
        if (X87Stack.Begin(cpu, instruction))
        {
            cpu.Fpu->Top = (cpu.Fpu->Top - 1) & 7;
            cpu.Fpu->StatusWord &= unchecked((ushort)~X87StatusWord.C1);
        }
    }

    private static void NoOperation(Cpu cpu, DecodedInstruction* instruction) => X87Stack.Begin(cpu, instruction);

    private static void Ignored(Cpu cpu, DecodedInstruction* instruction) => cpu.X87Available();

    /// <summary>FWAIT: #NM only when CR0.MP and CR0.TS are both set; then any pending unmasked exception (SDM 2 WAIT/FWAIT).</summary>
    private static void WaitForExceptions(Cpu cpu, DecodedInstruction* instruction)
    {
        const ulong monitorAndSwitched = (ulong)(ControlRegister0.MonitorCoprocessor | ControlRegister0.TaskSwitched);
        if ((cpu.Cr0 & monitorAndSwitched) == monitorAndSwitched)
        {
            cpu.RaiseException(ExceptionVector.DeviceNotAvailable);
            return;
        }

        if ((cpu.Fpu->StatusWord & X87StatusWord.ErrorSummary) != 0 && (cpu.Cr0 & (ulong)ControlRegister0.NumericError) != 0)
        {
            cpu.RaiseException(ExceptionVector.FloatingPointError);
        }
    }

    private static void Write16(Span<byte> image, int offset, ushort value) => System.Runtime.InteropServices.MemoryMarshal.Write(image[offset..], in value);

    private static void Write32(Span<byte> image, int offset, uint value) => System.Runtime.InteropServices.MemoryMarshal.Write(image[offset..], in value);
}
