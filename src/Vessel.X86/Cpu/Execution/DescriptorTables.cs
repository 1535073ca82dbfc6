using Iced.Intel;
using Vessel.Core.Accel;
using Vessel.X86.Cpu.Decoding;

namespace Vessel.X86.Cpu.Execution;

/// <summary>
/// LGDT/LIDT/SGDT/SIDT, LLDT/SLDT, LTR/STR, LAR/LSL/VERR/VERW and ARPL (Intel SDM 2, under each mnemonic).
/// </summary>
public static unsafe class DescriptorTables
{
    private const int SystemTypeLdt = 0x2;
    private const int SystemTypeAvailableTss16 = 0x1;
    private const int SystemTypeAvailableTss = 0x9;
    private const int SystemTypeBusyBit = 0x2;

    public static void Register(HandlerTable table)
    {
        foreach (var code in new[] { Code.Lgdt_m1632_16, Code.Lgdt_m1632, Code.Lgdt_m1664 })
        {
            table.Add(code, &LoadGlobalDescriptorTable);
        }

        foreach (var code in new[] { Code.Lidt_m1632_16, Code.Lidt_m1632, Code.Lidt_m1664 })
        {
            table.Add(code, &LoadInterruptDescriptorTable);
        }

        foreach (var code in new[] { Code.Sgdt_m1632_16, Code.Sgdt_m1632, Code.Sgdt_m1664 })
        {
            table.Add(code, &StoreGlobalDescriptorTable);
        }

        foreach (var code in new[] { Code.Sidt_m1632_16, Code.Sidt_m1632, Code.Sidt_m1664 })
        {
            table.Add(code, &StoreInterruptDescriptorTable);
        }

        foreach (var code in new[] { Code.Lldt_rm16, Code.Lldt_r32m16, Code.Lldt_r64m16 })
        {
            table.Add(code, &LoadLocalDescriptorTable);
        }

        foreach (var code in new[] { Code.Sldt_rm16, Code.Sldt_r32m16, Code.Sldt_r64m16 })
        {
            table.Add(code, &StoreLocalDescriptorTable);
        }

        foreach (var code in new[] { Code.Ltr_rm16, Code.Ltr_r32m16, Code.Ltr_r64m16 })
        {
            table.Add(code, &LoadTaskRegister);
        }

        foreach (var code in new[] { Code.Str_rm16, Code.Str_r32m16, Code.Str_r64m16 })
        {
            table.Add(code, &StoreTaskRegister);
        }

        foreach (var code in new[] { Code.Lar_r16_rm16, Code.Lar_r32_r32m16, Code.Lar_r64_r64m16 })
        {
            table.Add(code, &LoadAccessRights);
        }

        foreach (var code in new[] { Code.Lsl_r16_rm16, Code.Lsl_r32_r32m16, Code.Lsl_r64_r64m16 })
        {
            table.Add(code, &LoadSegmentLimit);
        }

        foreach (var code in new[] { Code.Verr_rm16, Code.Verr_r32m16, Code.Verr_r64m16 })
        {
            table.Add(code, &VerifyRead);
        }

        foreach (var code in new[] { Code.Verw_rm16, Code.Verw_r32m16, Code.Verw_r64m16 })
        {
            table.Add(code, &VerifyWrite);
        }

        table.Add(Code.Arpl_rm16_r16, &AdjustRequestedPrivilege);
        table.Add(Code.Arpl_r32m16_r32, &AdjustRequestedPrivilege);
    }

    /// <summary>
    /// Reads the 6- or 10-byte pseudo-descriptor: limit, then a 64-bit base in 64-bit mode, else a 32-bit base of which
    /// a 16-bit operand size keeps 24 bits (SDM 2 LGDT/LIDT).
    /// </summary>
    private static bool TryReadPseudoDescriptor(Cpu cpu, DecodedInstruction* instruction, out DescriptorTableState table)
    {
        table = default;
        if (!ControlRegisters.RequireSupervisor(cpu))
        {
            return false;
        }

        ulong address = cpu.LinearAddress(instruction);
        if (!cpu.TryRead(address, out ushort limit))
        {
            return false;
        }

        ulong tableBase;
        if (cpu.CodeBits == 64)
        {
            if (!cpu.TryRead(address + 2, out tableBase))
            {
                return false;
            }

            if (!Cpu.IsCanonical(tableBase))
            {
                cpu.RaiseGeneralProtection(0);
                return false;
            }
        }
        else
        {
            if (!cpu.TryRead(address + 2, out uint base32))
            {
                return false;
            }

            tableBase = instruction->Iced.Code is Code.Lgdt_m1632_16 or Code.Lidt_m1632_16 ? base32 & 0xFF_FFFF : base32;
        }

        table = new DescriptorTableState(tableBase, limit);
        return true;
    }

    /// <summary>SGDT/SIDT store the limit, then the base: 8 bytes in 64-bit mode, else the full 32 bits.</summary>
    private static void StorePseudoDescriptor(Cpu cpu, DecodedInstruction* instruction, DescriptorTableState table)
    {
        if (!ControlRegisters.RequireUserModeInstructionAllowed(cpu))
        {
            return;
        }

        ulong address = cpu.LinearAddress(instruction);
        if (!cpu.TryWrite(address, table.Limit))
        {
            return;
        }

        if (cpu.CodeBits == 64)
        {
            cpu.TryWrite(address + 2, table.Base);
        }
        else
        {
            cpu.TryWrite(address + 2, (uint)table.Base);
        }
    }

    private static void LoadGlobalDescriptorTable(Cpu cpu, DecodedInstruction* instruction)
    {
        if (TryReadPseudoDescriptor(cpu, instruction, out var table))
        {
            cpu.Gdtr = table;
        }
    }

    private static void LoadInterruptDescriptorTable(Cpu cpu, DecodedInstruction* instruction)
    {
        if (TryReadPseudoDescriptor(cpu, instruction, out var table))
        {
            cpu.Idtr = table;
        }
    }

    private static void StoreGlobalDescriptorTable(Cpu cpu, DecodedInstruction* instruction) =>
        StorePseudoDescriptor(cpu, instruction, cpu.Gdtr);

    private static void StoreInterruptDescriptorTable(Cpu cpu, DecodedInstruction* instruction) =>
        StorePseudoDescriptor(cpu, instruction, cpu.Idtr);

    /// <summary>LLDT, LTR, SLDT, STR, LAR, LSL, VERR, VERW and ARPL are #UD in real mode.</summary>
    private static bool RequireProtectedMode(Cpu cpu)
    {
        if (!cpu.ProtectedMode || (cpu.Rflags & (ulong)RflagsBits.Virtual8086) != 0)
        {
            cpu.RaiseInvalidOpcode();
            return false;
        }

        return true;
    }

    /// <summary>Reads a system descriptor from the GDT, with its upper half in long mode; false after raising #GP(selector).</summary>
    private static bool TryReadSystemDescriptor(Cpu cpu, ushort selector, out ulong low, out SegmentState segment)
    {
        segment = default;
        low = 0;
        if ((selector & 4) != 0 || !cpu.TryReadDescriptor(selector, out low))
        {
            return SegmentLoads.RaiseSelectorFault(cpu, ExceptionVector.GeneralProtection, selector);
        }

        segment = Cpu.SegmentFromDescriptor(selector, low);
        if (cpu.LongMode)
        {
            if (!cpu.TryReadDescriptorHigh(selector, out ulong high))
            {
                return SegmentLoads.RaiseSelectorFault(cpu, ExceptionVector.GeneralProtection, selector);
            }

            segment = segment with { Base = segment.Base | (high << 32) };
        }

        return true;
    }

    /// <summary>LLDT: a null selector disables the LDT; otherwise an LDT descriptor in the GDT (SDM 2 LLDT).</summary>
    private static void LoadLocalDescriptorTable(Cpu cpu, DecodedInstruction* instruction)
    {
        if (!RequireProtectedMode(cpu) || !ControlRegisters.RequireSupervisor(cpu) || !cpu.TryReadOperand(instruction, 0, out ulong value))
        {
            return;
        }

        ushort selector = (ushort)value;
        if ((selector & 0xFFFC) == 0)
        {
            cpu.Ldtr = SegmentLoads.NullSegment(selector);
            return;
        }

        if (!TryReadSystemDescriptor(cpu, selector, out _, out var ldt))
        {
            return;
        }

        if ((ldt.Attributes & SegmentAttributes.CodeOrData) != 0 || ((int)ldt.Attributes & 0xF) != SystemTypeLdt)
        {
            SegmentLoads.RaiseSelectorFault(cpu, ExceptionVector.GeneralProtection, selector);
            return;
        }

        if ((ldt.Attributes & SegmentAttributes.Present) == 0)
        {
            SegmentLoads.RaiseSelectorFault(cpu, ExceptionVector.SegmentNotPresent, selector);
            return;
        }

        if (cpu.LongMode && !Cpu.IsCanonical(ldt.Base))
        {
            SegmentLoads.RaiseSelectorFault(cpu, ExceptionVector.GeneralProtection, selector);
            return;
        }

        cpu.Ldtr = ldt;
    }

    /// <summary>
    /// LTR: an available TSS in the GDT (64-bit in long mode; 16- or 32-bit otherwise), marked busy in memory as it is
    /// loaded (SDM 2 LTR).
    /// </summary>
    private static void LoadTaskRegister(Cpu cpu, DecodedInstruction* instruction)
    {
        if (!RequireProtectedMode(cpu) || !ControlRegisters.RequireSupervisor(cpu) || !cpu.TryReadOperand(instruction, 0, out ulong value))
        {
            return;
        }

        ushort selector = (ushort)value;
        if ((selector & 0xFFFC) == 0)
        {
            cpu.RaiseGeneralProtection(0);
            return;
        }

        if (!TryReadSystemDescriptor(cpu, selector, out ulong low, out var tss))
        {
            return;
        }

        int type = (int)tss.Attributes & 0xF;
        bool available = cpu.LongMode ? type == SystemTypeAvailableTss : type is SystemTypeAvailableTss or SystemTypeAvailableTss16;
        if ((tss.Attributes & SegmentAttributes.CodeOrData) != 0 || !available)
        {
            SegmentLoads.RaiseSelectorFault(cpu, ExceptionVector.GeneralProtection, selector);
            return;
        }

        if ((tss.Attributes & SegmentAttributes.Present) == 0)
        {
            SegmentLoads.RaiseSelectorFault(cpu, ExceptionVector.SegmentNotPresent, selector);
            return;
        }

        if (cpu.LongMode && !Cpu.IsCanonical(tss.Base))
        {
            SegmentLoads.RaiseSelectorFault(cpu, ExceptionVector.GeneralProtection, selector);
            return;
        }

        const ulong busy = (ulong)SystemTypeBusyBit << 40;
        if (!cpu.TryWriteSystem(cpu.Gdtr.Base + (ulong)(selector & ~7), low | busy))
        {
            return;
        }

        cpu.Tr = tss with { Attributes = tss.Attributes | (SegmentAttributes)SystemTypeBusyBit };
    }

    private static void StoreLocalDescriptorTable(Cpu cpu, DecodedInstruction* instruction)
    {
        if (RequireProtectedMode(cpu) && ControlRegisters.RequireUserModeInstructionAllowed(cpu))
        {
            StoreSelector(cpu, instruction, cpu.Ldtr.Selector);
        }
    }

    private static void StoreTaskRegister(Cpu cpu, DecodedInstruction* instruction)
    {
        if (RequireProtectedMode(cpu) && ControlRegisters.RequireUserModeInstructionAllowed(cpu))
        {
            StoreSelector(cpu, instruction, cpu.Tr.Selector);
        }
    }

    /// <summary>SLDT/STR: 16 bits to memory, zero-extended to a register's size.</summary>
    private static void StoreSelector(Cpu cpu, DecodedInstruction* instruction, ushort selector)
    {
        if (instruction->Iced.Op0Kind == OpKind.Register)
        {
            var destination = instruction->Iced.Op0Register;
            int bits = destination.GetSize() * 8;
            cpu.WriteRegister(RegisterSlots.Of(destination), bits == 16 ? 16 : 64, selector);
            return;
        }

        cpu.TryWrite(cpu.LinearAddress(instruction), selector);
    }

    /// <summary>
    /// Whether LAR/LSL/VERR/VERW may see this descriptor: code/data must be visible at CPL and RPL unless it is
    /// conforming code; system types are filtered by the caller. Null or out-of-table selectors are not visible.
    /// </summary>
    private static bool TryReadVisibleDescriptor(Cpu cpu, ushort selector, out ulong descriptor, out SegmentState segment)
    {
        segment = default;
        descriptor = 0;
        if ((selector & 0xFFFC) == 0 || !cpu.TryReadDescriptor(selector, out descriptor))
        {
            return false;
        }

        segment = Cpu.SegmentFromDescriptor(selector, descriptor);
        bool conformingCode = (segment.Attributes & (SegmentAttributes.CodeOrData | SegmentAttributes.Executable | SegmentAttributes.ConformingOrExpandDown))
            == (SegmentAttributes.CodeOrData | SegmentAttributes.Executable | SegmentAttributes.ConformingOrExpandDown);
        int dpl = segment.DescriptorPrivilegeLevel;
        return conformingCode || (dpl >= cpu.CurrentPrivilegeLevel && dpl >= (selector & 3));
    }

    private static bool IsSystem(in SegmentState segment) => (segment.Attributes & SegmentAttributes.CodeOrData) == 0;

    /// <summary>System types LAR accepts: LDT, TSS (available or busy), call gate; in legacy mode 16-bit TSS and gates too.</summary>
    private static bool LarAcceptsSystemType(Cpu cpu, int type) => cpu.LongMode
        ? type is 0x2 or 0x9 or 0xB or 0xC
        : type is 0x1 or 0x2 or 0x3 or 0x4 or 0x5 or 0x9 or 0xB or 0xC;

    /// <summary>System types LSL accepts: those with a limit (LDT and TSS).</summary>
    private static bool LslAcceptsSystemType(Cpu cpu, int type) => cpu.LongMode
        ? type is 0x2 or 0x9 or 0xB
        : type is 0x1 or 0x2 or 0x3 or 0x9 or 0xB;

    private static void LoadAccessRights(Cpu cpu, DecodedInstruction* instruction)
    {
        if (!RequireProtectedMode(cpu) || !cpu.TryReadOperand(instruction, 1, out ulong value))
        {
            return;
        }

        ushort selector = (ushort)value;
        bool ok = TryReadVisibleDescriptor(cpu, selector, out ulong descriptor, out var segment)
            && (!IsSystem(segment) || LarAcceptsSystemType(cpu, (int)segment.Attributes & 0xF));
        if (ok)
        {
            int bits = instruction->OperandBits;
            ulong rights = (descriptor >> 32) & (bits == 16 ? 0xFF00UL : 0x00F0_FF00UL);
            cpu.WriteRegister(instruction->Operand0Register, bits, rights);
        }

        cpu.SetFlag(RflagsBits.Zero, ok);
    }

    private static void LoadSegmentLimit(Cpu cpu, DecodedInstruction* instruction)
    {
        if (!RequireProtectedMode(cpu) || !cpu.TryReadOperand(instruction, 1, out ulong value))
        {
            return;
        }

        ushort selector = (ushort)value;
        bool ok = TryReadVisibleDescriptor(cpu, selector, out _, out var segment)
            && (!IsSystem(segment) || LslAcceptsSystemType(cpu, (int)segment.Attributes & 0xF));
        if (ok)
        {
            cpu.WriteRegister(instruction->Operand0Register, instruction->OperandBits, segment.Limit);
        }

        cpu.SetFlag(RflagsBits.Zero, ok);
    }

    private static void VerifyRead(Cpu cpu, DecodedInstruction* instruction) => Verify(cpu, instruction, write: false);

    private static void VerifyWrite(Cpu cpu, DecodedInstruction* instruction) => Verify(cpu, instruction, write: true);

    /// <summary>VERR: readable code or data; VERW: writable data; both visible at CPL and RPL (SDM 2 VERR/VERW).</summary>
    private static void Verify(Cpu cpu, DecodedInstruction* instruction, bool write)
    {
        if (!RequireProtectedMode(cpu) || !cpu.TryReadOperand(instruction, 0, out ulong value))
        {
            return;
        }

        bool ok = TryReadVisibleDescriptor(cpu, (ushort)value, out _, out var segment) && !IsSystem(segment);
        if (ok)
        {
            bool code = (segment.Attributes & SegmentAttributes.Executable) != 0;
            bool readWrite = (segment.Attributes & SegmentAttributes.ReadableOrWritable) != 0;
            ok = write ? !code && readWrite : !code || readWrite;
        }

        cpu.SetFlag(RflagsBits.Zero, ok);
    }

    /// <summary>ARPL raises the destination selector's RPL to the source's, setting ZF when it did (SDM 2 ARPL).</summary>
    private static void AdjustRequestedPrivilege(Cpu cpu, DecodedInstruction* instruction)
    {
        if (!RequireProtectedMode(cpu))
        {
            return;
        }

        ref readonly var iced = ref instruction->Iced;
        int sourceRpl = (int)cpu.ReadRegister(RegisterSlots.Of(iced.Op1Register), 16) & 3;
        bool register = iced.Op0Kind == OpKind.Register;
        int slot = register ? RegisterSlots.Of(iced.Op0Register) : 0;
        ulong address = register ? 0 : cpu.LinearAddress(instruction);
        ulong destination;
        if (register)
        {
            destination = cpu.ReadRegister(slot, 16);
        }
        else if (!cpu.TryRead(address, out ushort word))
        {
            return;
        }
        else
        {
            destination = word;
        }

        bool adjust = ((int)destination & 3) < sourceRpl;
        if (adjust)
        {
            ushort adjusted = (ushort)((destination & ~3UL) | (uint)sourceRpl);
            if (register)
            {
                cpu.WriteRegister(slot, 16, adjusted);
            }
            else if (!cpu.TryWrite(address, adjusted))
            {
                return;
            }
        }

        cpu.SetFlag(RflagsBits.Zero, adjust);
    }
}
