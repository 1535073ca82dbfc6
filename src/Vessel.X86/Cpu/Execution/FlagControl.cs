using Iced.Intel;
using Vessel.X86.Cpu.Decoding;

namespace Vessel.X86.Cpu.Execution;

/// <summary>CLC/STC/CMC, CLD/STD, CLI/STI, PUSHF/POPF, LAHF/SAHF.</summary>
public static unsafe class FlagControl
{
    public static void Register(HandlerTable table)
    {
        table.Add(Code.Clc, &ClearCarry);
        table.Add(Code.Stc, &SetCarry);
        table.Add(Code.Cmc, &ComplementCarry);
        table.Add(Code.Cld, &ClearDirection);
        table.Add(Code.Std, &SetDirection);
        table.Add(Code.Cli, &ClearInterrupts);
        table.Add(Code.Sti, &SetInterrupts);
        table.Add(Code.Pushfw, &PushFlags<Width16>);
        table.Add(Code.Pushfd, &PushFlags<Width32>);
        table.Add(Code.Pushfq, &PushFlags<Width64>);
        table.Add(Code.Popfw, &PopFlags<Width16>);
        table.Add(Code.Popfd, &PopFlags<Width32>);
        table.Add(Code.Popfq, &PopFlags<Width64>);
        table.Add(Code.Lahf, &LoadFlagsIntoAh);
        table.Add(Code.Sahf, &StoreAhIntoFlags);
    }

    private static void ClearCarry(Cpu cpu, DecodedInstruction* instruction) => cpu.SetFlag(RflagsBits.Carry, false);

    private static void SetCarry(Cpu cpu, DecodedInstruction* instruction) => cpu.SetFlag(RflagsBits.Carry, true);

    private static void ComplementCarry(Cpu cpu, DecodedInstruction* instruction) => cpu.SetFlag(RflagsBits.Carry, !cpu.CarryFlag);

    private static void ClearDirection(Cpu cpu, DecodedInstruction* instruction) => cpu.State->Rflags &= ~(ulong)RflagsBits.Direction;

    private static void SetDirection(Cpu cpu, DecodedInstruction* instruction) => cpu.State->Rflags |= (ulong)RflagsBits.Direction;

    /// <summary>CLI/STI need CPL &lt;= IOPL in protected mode (SDM 2 CLI; no PVI/VME support), else #GP(0).</summary>
    private static bool MayChangeInterruptFlag(Cpu cpu) =>
        !cpu.ProtectedMode || cpu.CurrentPrivilegeLevel <= (int)((cpu.State->Rflags >> 12) & 3);

    private static void ClearInterrupts(Cpu cpu, DecodedInstruction* instruction)
    {
        if (!MayChangeInterruptFlag(cpu))
        {
            cpu.RaiseGeneralProtection(0);
            return;
        }

        cpu.State->Rflags &= ~(ulong)RflagsBits.InterruptEnable;
    }

    /// <summary>STI enables interrupts after the next instruction (the interrupt shadow, SDM 2 STI).</summary>
    private static void SetInterrupts(Cpu cpu, DecodedInstruction* instruction)
    {
        if (!MayChangeInterruptFlag(cpu))
        {
            cpu.RaiseGeneralProtection(0);
            return;
        }

        var s = cpu.State;
        if ((s->Rflags & (ulong)RflagsBits.InterruptEnable) == 0)
        {
            s->Rflags |= (ulong)RflagsBits.InterruptEnable;
            s->InterruptShadow = CpuState.ShadowAfterSti;
            s->StopBlock = 1;
        }
    }

    private static void PushFlags<TWidth>(Cpu cpu, DecodedInstruction* instruction)
        where TWidth : IWidth
    {
        // RF and VM read as zero in the pushed image (SDM 2 PUSHF).
        ulong image = cpu.Rflags & ~(ulong)(RflagsBits.Resume | RflagsBits.Virtual8086);
        cpu.TryPush(TWidth.Bits, image);
    }

    /// <summary>POPF changes only what the privilege allows: IOPL at CPL 0, IF at CPL &lt;= IOPL (SDM 2 POPF).</summary>
    private static void PopFlags<TWidth>(Cpu cpu, DecodedInstruction* instruction)
        where TWidth : IWidth
    {
        if (!cpu.TryPop(TWidth.Bits, out ulong image))
        {
            return;
        }

        ulong writable = (ulong)(RflagsBits.Arithmetic | RflagsBits.Trap | RflagsBits.Direction | RflagsBits.NestedTask
            | RflagsBits.AlignmentCheck | RflagsBits.Identification);
        int iopl = (int)((cpu.State->Rflags >> 12) & 3);
        int cpl = cpu.ProtectedMode ? cpu.CurrentPrivilegeLevel : 0;
        if (cpl == 0)
        {
            writable |= (ulong)RflagsBits.IoPrivilegeLevel;
        }

        if (cpl <= iopl)
        {
            writable |= (ulong)RflagsBits.InterruptEnable;
        }

        if (TWidth.Bits == 16)
        {
            writable &= 0xFFFF;
        }

        ulong previous = cpu.Rflags;
        cpu.Rflags = (previous & ~writable) | (image & writable);
        if (((previous ^ cpu.Rflags) & (ulong)(RflagsBits.InterruptEnable | RflagsBits.Trap)) != 0)
        {
            cpu.StopBlock();
        }
    }

    private static void LoadFlagsIntoAh(Cpu cpu, DecodedInstruction* instruction) =>
        cpu.WriteRegister(RegisterSlots.HighByteBase, 8, cpu.Rflags & 0xFF);

    private static void StoreAhIntoFlags(Cpu cpu, DecodedInstruction* instruction)
    {
        const ulong affected = (ulong)(RflagsBits.Sign | RflagsBits.Zero | RflagsBits.Adjust | RflagsBits.Parity | RflagsBits.Carry);
        ulong ah = cpu.ReadRegister(RegisterSlots.HighByteBase, 8);
        cpu.Rflags = (cpu.Rflags & ~affected) | (ah & affected);
    }
}
