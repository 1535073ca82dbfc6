using System.Reflection;
using System.Reflection.Emit;
using Vessel.X86.Cpu.Decoding;
using Vessel.X86.Cpu.Paging;

namespace Vessel.X86.Cpu.Jit;

/// <summary>
/// Writes the IL of one compiled block, instruction by instruction, as plain loads, stores and arithmetic on the CPU
/// state through its pointer. Nothing is left for RyuJIT to inline: inlining helper methods (the first version of the
/// tier) made RyuJIT import, resolve and fold every helper's IL again in every block, about ten times the cost of
/// compiling the same block as straight-line IL (bench jitcost). Memory operands take the soft-TLB fast path inline;
/// anything else (a TLB miss, segment limit checks, a LOCK prefix, a non-canonical target) calls the instruction's
/// interpreter handler, which does the whole instruction again from the start, so the fast path needs no exactness of
/// its own: it either completes the instruction or has changed nothing.
/// </summary>
internal sealed unsafe class BlockEmitter
{
    private static readonly Type[] HandlerParameters = [typeof(Cpu), typeof(DecodedInstruction*)];
    private static readonly int GprOffset;
    private static readonly int LazyResultOffset;
    private static readonly int LazySource1Offset;
    private static readonly int LazySource2Offset;
    private static readonly int LazyOpOffset;
    private static readonly int LazyBitsOffset;
    private static readonly int RflagsOffset;
    private static readonly int SegmentBaseOffset;
    private static readonly int SegmentChecksOffset;
    private static readonly int StopBlockOffset;
    private static readonly int AddendOffset;

    /// <summary>log2 of sizeof(TlbEntry): an entry's offset in its table is the page number's low bits shifted by it.</summary>
    private static readonly int EntrySizeShift = System.Numerics.BitOperations.Log2((uint)sizeof(TlbEntry));
    private static readonly FieldInfo ReadTlbField = typeof(Cpu).GetField("readTlb", BindingFlags.NonPublic | BindingFlags.Instance)!;
    private static readonly FieldInfo WriteTlbField = typeof(Cpu).GetField("writeTlb", BindingFlags.NonPublic | BindingFlags.Instance)!;
    private static readonly FieldInfo RetiredField = typeof(Cpu).GetField("compiledRetired", BindingFlags.NonPublic | BindingFlags.Instance)!;
    private static readonly FieldInfo BudgetField = typeof(Cpu).GetField("compiledBudget", BindingFlags.NonPublic | BindingFlags.Instance)!;
    private static readonly FieldInfo PendingEventsField = typeof(Cpu).GetField("pendingEvents", BindingFlags.NonPublic | BindingFlags.Instance)!;

    private readonly ILGenerator il;

    /// <summary>The region's pinned copy of its members' instructions (see BlockCompiler).</summary>
    private readonly DecodedInstruction* instructions;
    private readonly int codeBits;
    private readonly LocalBuilder linear;
    private readonly LocalBuilder entry;
    private readonly LocalBuilder host;
    private readonly LocalBuilder first;
    private readonly LocalBuilder second;
    private readonly LocalBuilder result;

    /// <summary>The value <see cref="StoreRegisterFromStack"/> writes (its own, so that callers' locals survive it).</summary>
    private readonly LocalBuilder registerValue;

    /// <summary>Instructions run by the region's blocks that completed before the current one, in this call.</summary>
    private readonly LocalBuilder retired;

    /// <summary>Early returns (a handler stopped the block): the label, the position returned, the block's first position.</summary>
    private readonly List<(Label Label, int Position, int BlockStart)> exits = [];

    /// <summary>The region position of the current block's first instruction.</summary>
    private int blockStart;

    /// <summary>The flag record's operation and width as the code emitted so far leaves them, when known (for the members after).</summary>
    public (FlagOperation Operation, int Bits)? KnownFlags => knownFlags;

    /// <summary>The lazy flag record's operation and width when an inline instruction of this block wrote it last, or the member's predecessors all did.</summary>
    private (FlagOperation Operation, int Bits)? knownFlags;

    /// <summary>
    /// The lazy flag record's result and sources, held in locals for the whole region like the held registers (its
    /// operation and width are stored to the state as they change: one constant store): a condition reads them from
    /// host registers, and a record the next one replaces is never stored at all.
    /// </summary>
    private readonly LocalBuilder flagResult;
    private readonly LocalBuilder flagSource1;
    private readonly LocalBuilder flagSource2;

    static BlockEmitter()
    {
        CpuState state = default;
        byte* origin = (byte*)&state;
        GprOffset = (int)((byte*)state.Gpr - origin);
        LazyResultOffset = (int)((byte*)&state.LazyResult - origin);
        LazySource1Offset = (int)((byte*)&state.LazySource1 - origin);
        LazySource2Offset = (int)((byte*)&state.LazySource2 - origin);
        LazyOpOffset = (int)((byte*)&state.LazyOp - origin);
        LazyBitsOffset = (int)((byte*)&state.LazyBits - origin);
        RflagsOffset = (int)((byte*)&state.Rflags - origin);
        SegmentBaseOffset = (int)((byte*)state.SegmentBase - origin);
        SegmentChecksOffset = (int)((byte*)&state.SegmentChecks - origin);
        StopBlockOffset = (int)((byte*)&state.StopBlock - origin);
        TlbEntry tlbEntry = default;
        AddendOffset = (int)((byte*)&tlbEntry.Addend - (byte*)&tlbEntry);
    }

    public BlockEmitter(ILGenerator il, int codeBits, DecodedInstruction* instructions)
    {
        this.il = il;
        this.instructions = instructions;
        this.codeBits = codeBits;
        linear = il.DeclareLocal(typeof(ulong));
        entry = il.DeclareLocal(typeof(nint));
        host = il.DeclareLocal(typeof(nint));
        first = il.DeclareLocal(typeof(ulong));
        second = il.DeclareLocal(typeof(ulong));
        result = il.DeclareLocal(typeof(ulong));
        retired = il.DeclareLocal(typeof(ulong));
        registerValue = il.DeclareLocal(typeof(ulong));
        flagResult = il.DeclareLocal(typeof(ulong));
        flagSource1 = il.DeclareLocal(typeof(ulong));
        flagSource2 = il.DeclareLocal(typeof(ulong));
    }

    /// <summary>
    /// Emits <paramref name="instruction"/> (the block's <paramref name="index"/>th) as <paramref name="translation"/>
    /// says; <paramref name="flagsNeeded"/> false when a later instruction replaces its flags unseen. Only the handler
    /// path sets RIP to the next instruction and checks for a stop afterwards: the inline paths cannot fault, read RIP
    /// only as a constant, and never stop the block. The block's last instruction is given RIP by the caller.
    /// </summary>
    public void Emit(in DecodedInstruction instruction, int index, Translation translation, bool flagsNeeded, bool last)
    {
        var handler = il.DefineLabel();
        var done = il.DefineLabel();
        bool usesHandler = true;
        wroteHeldState = false;
        switch (translation.Kind)
        {
            case TranslationKind.MoveRegister:
                LoadRegister(instruction.Operand1Register, instruction.OperandBits);
                StoreRegisterFromStack(instruction.Operand0Register, instruction.OperandBits);
                usesHandler = false;
                break;
            case TranslationKind.MoveImmediate:
                il.Emit(OpCodes.Ldc_I8, (long)instruction.Immediate);
                StoreRegisterFromStack(instruction.Operand0Register, instruction.OperandBits);
                usesHandler = false;
                break;
            case TranslationKind.LoadEffectiveAddress:
                EffectiveAddress(in instruction);
                StoreRegisterFromStack(instruction.Operand0Register, instruction.OperandBits);
                usesHandler = false;
                break;
            case TranslationKind.ZeroExtendRegister or TranslationKind.SignExtendRegister:
                LoadRegister(instruction.Operand1Register, translation.Bits);
                Extend(translation.Kind == TranslationKind.SignExtendRegister, translation.Bits);
                StoreRegisterFromStack(instruction.Operand0Register, instruction.OperandBits);
                usesHandler = false;
                break;
            case TranslationKind.Load:
                ReadMemory(in instruction, instruction.OperandBits, handler);
                StoreRegisterFromStack(instruction.Operand0Register, instruction.OperandBits);
                break;
            case TranslationKind.ZeroExtendMemory or TranslationKind.SignExtendMemory:
                {
                    // MOVSX of a 16-bit source into a 16-bit register reads 16 bits (DataTransfer.SignExtendMemory).
                    int sourceBits = Math.Min(translation.Bits, instruction.OperandBits);
                    ReadMemory(in instruction, sourceBits, handler);
                    Extend(translation.Kind == TranslationKind.SignExtendMemory, sourceBits);
                    StoreRegisterFromStack(instruction.Operand0Register, instruction.OperandBits);
                    break;
                }

            case TranslationKind.Store:
                WritableHost(in instruction, instruction.OperandBits, handler);
                il.Emit(OpCodes.Ldloc, host);
                LoadRegister(instruction.Operand1Register, instruction.OperandBits);
                StoreIndirect(instruction.OperandBits);
                break;
            case TranslationKind.StoreImmediate:
                WritableHost(in instruction, instruction.OperandBits, handler);
                il.Emit(OpCodes.Ldloc, host);
                il.Emit(OpCodes.Ldc_I8, (long)instruction.Immediate);
                StoreIndirect(instruction.OperandBits);
                break;
            case TranslationKind.BinaryRegister or TranslationKind.BinaryImmediate:
                LoadRegister(instruction.Operand0Register, instruction.OperandBits);
                il.Emit(OpCodes.Stloc, first);
                LoadSource(in instruction, translation.Kind == TranslationKind.BinaryRegister);
                il.Emit(OpCodes.Stloc, second);
                Binary(translation.Operation, instruction.OperandBits, flagsNeeded);
                if (Writes(translation.Operation))
                {
                    il.Emit(OpCodes.Ldloc, result);
                    StoreRegisterFromStack(instruction.Operand0Register, instruction.OperandBits);
                }

                usesHandler = false;
                break;
            case TranslationKind.BinaryLoad:
                ReadMemory(in instruction, instruction.OperandBits, handler);
                il.Emit(OpCodes.Stloc, second);
                LoadRegister(instruction.Operand0Register, instruction.OperandBits);
                il.Emit(OpCodes.Stloc, first);
                Binary(translation.Operation, instruction.OperandBits, flagsNeeded: true);
                if (Writes(translation.Operation))
                {
                    il.Emit(OpCodes.Ldloc, result);
                    StoreRegisterFromStack(instruction.Operand0Register, instruction.OperandBits);
                }

                break;
            case TranslationKind.BinaryMemoryRegister or TranslationKind.BinaryMemoryImmediate:
                if ((instruction.Prefixes & InstructionPrefixes.Lock) != 0)
                {
                    // The handler's compare-and-swap loop; it records flags this block did not see written.
                    BranchToHandler(OpCodes.Br, handler);
                    knownFlags = null;
                    break;
                }

                // CMP and TEST only read; the others take the write TLB's entry, which also grants reading.
                if (Writes(translation.Operation))
                {
                    WritableHost(in instruction, instruction.OperandBits, handler);
                    il.Emit(OpCodes.Ldloc, host);
                    LoadIndirect(instruction.OperandBits);
                }
                else
                {
                    ReadMemory(in instruction, instruction.OperandBits, handler);
                }

                il.Emit(OpCodes.Stloc, first);
                LoadSource(in instruction, translation.Kind == TranslationKind.BinaryMemoryRegister);
                il.Emit(OpCodes.Stloc, second);
                Binary(translation.Operation, instruction.OperandBits, flagsNeeded: true);
                if (Writes(translation.Operation))
                {
                    il.Emit(OpCodes.Ldloc, host);
                    il.Emit(OpCodes.Ldloc, result);
                    StoreIndirect(instruction.OperandBits);
                }

                break;
            case TranslationKind.ConditionalMove:
                {
                    // A 32-bit CMOV zero-extends its destination even when the condition is false (SDM 2 CMOVcc).
                    // Both registers are read before the branch, where the register cache may take them.
                    var keep = il.DefineLabel();
                    var write = il.DefineLabel();
                    LoadRegister(instruction.Operand1Register, instruction.OperandBits);
                    il.Emit(OpCodes.Stloc, second);
                    LoadRegister(instruction.Operand0Register, instruction.OperandBits);
                    il.Emit(OpCodes.Stloc, first);
                    Condition(instruction.Tag);
                    il.Emit(OpCodes.Brfalse, keep);
                    il.Emit(OpCodes.Ldloc, second);
                    il.Emit(OpCodes.Br, write);
                    il.MarkLabel(keep);
                    il.Emit(OpCodes.Ldloc, first);
                    il.MarkLabel(write);
                    StoreRegisterFromStack(instruction.Operand0Register, instruction.OperandBits);
                    usesHandler = false;
                    break;
                }

            case TranslationKind.SetCondition:
                Condition(instruction.Tag);
                il.Emit(OpCodes.Conv_U8);
                StoreRegisterFromStack(instruction.Operand0Register, 8);
                usesHandler = false;
                break;
            case TranslationKind.MultiplyRegister or TranslationKind.MultiplyImmediate:
                EmitMultiply(in instruction, translation.Kind, flagsNeeded, handler);
                usesHandler = false;
                break;
            case TranslationKind.MultiplyLoad or TranslationKind.MultiplyLoadImmediate:
                EmitMultiply(in instruction, translation.Kind, flagsNeeded, handler);
                break;
            case TranslationKind.Increment or TranslationKind.Decrement:
                {
                    bool increment = translation.Kind == TranslationKind.Increment;
                    LoadRegister(instruction.Operand0Register, instruction.OperandBits);
                    il.Emit(OpCodes.Stloc, first);
                    il.Emit(OpCodes.Ldloc, first);
                    il.Emit(OpCodes.Ldc_I4_1);
                    il.Emit(OpCodes.Conv_U8);
                    il.Emit(increment ? OpCodes.Add : OpCodes.Sub);
                    il.Emit(OpCodes.Stloc, result);
                    if (flagsNeeded)
                    {
                        // Cpu.SetIncDecFlags: CF carried over from the record before, read before it is replaced.
                        CarryFlag();
                        il.Emit(OpCodes.Stloc, second);
                        StoreFlagOperation(increment ? FlagOperation.Inc : FlagOperation.Dec, instruction.OperandBits);
                        StoreFlagFields(first, second, result);
                    }

                    il.Emit(OpCodes.Ldloc, result);
                    StoreRegisterFromStack(instruction.Operand0Register, instruction.OperandBits);

                    // The record's result is this one, so a JZ/JNZ/JS/JNS after it (a loop's DEC; JNZ) reads ZF and
                    // SF inline, and JB/JAE the carried CF; the conditions that need OF still ask Cpu.Condition.
                    knownFlags = flagsNeeded
                        ? (increment ? FlagOperation.Inc : FlagOperation.Dec, instruction.OperandBits)
                        : null;
                    usesHandler = false;
                    break;
                }

            case TranslationKind.ShiftImmediate when ShiftKind(translation) is Shift.RotateLeft or Shift.RotateRight:
                EmitRotate(in instruction, ShiftKind(translation) == Shift.RotateLeft, flagsNeeded);
                usesHandler = false;
                break;
            case TranslationKind.ShiftImmediate when ShiftKind(translation) != Shift.None:
                EmitShift(in instruction, ShiftKind(translation), flagsNeeded);
                usesHandler = false;
                break;
            case TranslationKind.ShiftCount:
                EmitShiftByCount(in instruction, ShiftKind(translation), flagsNeeded);
                usesHandler = false;
                break;
            case TranslationKind.ShiftImmediate:
                // The operation reads and writes the registers and the flag record in the state.
                StoreRegionRegisters();
                StoreFlagFieldsToState();
                il.Emit(OpCodes.Ldarg_1);
                EmitInt(instruction.Operand0Register);
                EmitInt(instruction.Operand1Register);
                EmitInt(Execution.ShiftForms.MaskCount((byte)instruction.Immediate, instruction.OperandBits));
                EmitInt(instruction.OperandBits);
                il.Emit(OpCodes.Call, Operation(nameof(CompiledOperations.ShiftImmediate)).MakeGenericMethod(translation.OperationType!));
                ForgetRegister(RegisterSlot(instruction.Operand0Register, instruction.OperandBits));
                ReloadFlagFields();
                knownFlags = null;
                usesHandler = false;
                break;
            case TranslationKind.JumpRelative:
                SetRip(instruction.EndOffset + instruction.Immediate, instruction.AddressMask);
                usesHandler = false;
                break;
            case TranslationKind.JumpConditional:
                Condition(instruction.Tag);
                il.Emit(OpCodes.Brfalse, done);
                SetRip(instruction.EndOffset + instruction.Immediate, instruction.AddressMask);
                usesHandler = false;
                break;
            case TranslationKind.PushRegister when codeBits == 64:
                {
                    int bits = instruction.StackBytes * 8;
                    StackSlot(-(bits / 8));
                    TlbHost(write: true, bits / 8, handler);
                    il.Emit(OpCodes.Ldloc, host);
                    LoadRegister(instruction.Operand0Register, bits);
                    StoreIndirect(bits);
                    SetStackPointerFromLinear(0);
                    break;
                }

            case TranslationKind.PopRegister when codeBits == 64:
                {
                    int bits = instruction.StackBytes * 8;
                    StackSlot(0);
                    TlbHost(write: false, bits / 8, handler);
                    il.Emit(OpCodes.Ldloc, host);
                    LoadIndirect(bits);
                    il.Emit(OpCodes.Stloc, result);
                    SetStackPointerFromLinear(bits / 8);
                    il.Emit(OpCodes.Ldloc, result);
                    StoreRegisterFromStack(instruction.Operand0Register, bits);
                    break;
                }

            case TranslationKind.CallRelative when codeBits == 64 && instruction.StackBytes == 8:
                StackSlot(-8);
                TlbHost(write: true, 8, handler);
                il.Emit(OpCodes.Ldloc, host);
                ReturnAddress(in instruction);
                StoreIndirect(64);
                SetStackPointerFromLinear(0);
                SetRip(instruction.EndOffset + instruction.Immediate, instruction.AddressMask);
                break;
            case TranslationKind.Return when codeBits == 64 && translation.Bits == 64:
                {
                    // A non-canonical return address faults with RSP unchanged: the handler delivers it.
                    StackSlot(0);
                    TlbHost(write: false, 8, handler);
                    il.Emit(OpCodes.Ldloc, host);
                    LoadIndirect(64);
                    il.Emit(OpCodes.Stloc, result);
                    BranchUnlessCanonical(result, handler);
                    SetStackPointerFromLinear(8 + (long)instruction.Immediate);
                    StoreRip(result);
                    break;
                }

            case TranslationKind.JumpIndirectRegister when codeBits == 64 && instruction.OperandBits == 64:
                LoadRegister(instruction.Operand0Register, 64);
                il.Emit(OpCodes.Stloc, result);
                BranchUnlessCanonical(result, handler);
                StoreRip(result);
                break;
            case TranslationKind.CallIndirectRegister when codeBits == 64 && instruction.OperandBits == 64 && instruction.StackBytes == 8:
                LoadRegister(instruction.Operand0Register, 64);
                il.Emit(OpCodes.Stloc, result);
                BranchUnlessCanonical(result, handler);
                StackSlot(-8);
                TlbHost(write: true, 8, handler);
                il.Emit(OpCodes.Ldloc, host);
                ReturnAddress(in instruction);
                StoreIndirect(64);
                SetStackPointerFromLinear(0);
                StoreRip(result);
                break;
            default:
                BranchToHandler(OpCodes.Br, handler);
                knownFlags = null;
                break;
        }

        if (usesHandler)
        {
            il.Emit(OpCodes.Br, done);
            il.MarkLabel(handler);

            // The handler reads RIP from the state (the block's last instruction may then move it).
            SetRipInState(instruction.EndOffset, ulong.MaxValue);

            StoreRegionRegisters();
            StoreFlagFieldsToState();
            il.Emit(OpCodes.Ldarg_1);
            InstructionPointer(index);
            il.Emit(OpCodes.Ldc_I8, (long)(nint)instruction.Handler);
            il.Emit(OpCodes.Conv_I);
            il.EmitCalli(OpCodes.Calli, CallingConventions.Standard, typeof(void), HandlerParameters, null);

            // Only handlers stop a block (inline code never does), so the check is here, off the inline path, for the
            // block's last instruction too: the member that follows is not run after a stop.
            var exit = il.DefineLabel();
            exits.Add((exit, index + 1, blockStart));
            StateAddress(StopBlockOffset);
            il.Emit(OpCodes.Ldind_I4);
            il.Emit(OpCodes.Brtrue, exit);
            ReloadCachedRegisters();
            ReloadFlagFields();
            if (cacheState)
            {
                RipAddress();
                il.Emit(OpCodes.Ldind_I8);
                il.Emit(OpCodes.Stloc, RipLocal);
            }
        }

        il.MarkLabel(done);
    }

    /// <summary>The returns of blocks stopped early (placed after the body).</summary>
    public void EmitExits()
    {
        foreach (var (label, position, start) in exits)
        {
            il.MarkLabel(label);
            Return(position, position - start);
        }
    }

    /// <summary>
    /// Starts a member block at region position <paramref name="start"/>. Flags known from the block before carry over
    /// only as <paramref name="flagsOnEntry"/>: what every member that may lead here leaves (a member may be reached
    /// from several others).
    /// </summary>
    public void BeginBlock(int start, (FlagOperation Operation, int Bits)? flagsOnEntry)
    {
        blockStart = start;
        knownFlags = flagsOnEntry;
        ForgetRegisters();
    }

    /// <summary>
    /// Ends the member of <paramref name="count"/> instructions that began with <see cref="BeginBlock"/>: RIP is where
    /// it went. When it may have gone to a member of the region (<paramref name="successors"/>: each one's offset from
    /// the base and its label), that member runs next, unless something stopped the block, the budget is spent, or an
    /// event waits that the run loop must take (an interrupt request IF holds back does not count, as in the run loop);
    /// otherwise the code returns.
    /// </summary>
    public void EndBlock(int count, IReadOnlyList<(uint Offset, Label Label)> successors)
    {
        il.Emit(OpCodes.Ldloc, retired);
        il.Emit(OpCodes.Ldc_I8, (long)count);
        il.Emit(OpCodes.Add);
        il.Emit(OpCodes.Stloc, retired);
        if (successors.Count > 0)
        {
            var leave = il.DefineLabel();
            il.Emit(OpCodes.Ldloc, retired);
            il.Emit(OpCodes.Ldarg_1);
            il.Emit(OpCodes.Ldfld, BudgetField);
            il.Emit(OpCodes.Bge_Un, leave);

            // An interrupt request alone, with IF clear, stays pending without ending the region (Cpu.Run does the same).
            var noEvent = il.DefineLabel();
            il.Emit(OpCodes.Ldarg_1);
            il.Emit(OpCodes.Volatile);
            il.Emit(OpCodes.Ldfld, PendingEventsField);
            il.Emit(OpCodes.Conv_I8);
            il.Emit(OpCodes.Dup);
            il.Emit(OpCodes.Stloc, first);
            il.Emit(OpCodes.Brfalse, noEvent);
            il.Emit(OpCodes.Ldloc, first);
            EmitInt((int)PendingEvent.InterruptRequest);
            il.Emit(OpCodes.Conv_I8);
            il.Emit(OpCodes.Bne_Un, leave);
            StateAddress(RflagsOffset);
            il.Emit(OpCodes.Ldind_I8);
            il.Emit(OpCodes.Ldc_I8, (long)RflagsBits.InterruptEnable);
            il.Emit(OpCodes.And);
            il.Emit(OpCodes.Brtrue, leave);
            il.MarkLabel(noEvent);
            foreach (var (offset, label) in successors)
            {
                LoadRip();
                il.Emit(OpCodes.Ldarg_S, (byte)4);
                il.Emit(OpCodes.Ldc_I8, (long)offset);
                il.Emit(OpCodes.Add);
                il.Emit(OpCodes.Beq, label);
            }

            il.MarkLabel(leave);
        }

        StoreRegionRegisters();
        StoreFlagFieldsToState();
        if (cacheState)
        {
            RipAddress();
            il.Emit(OpCodes.Ldloc, RipLocal);
            il.Emit(OpCodes.Stind_I8);
        }

        Return(blockStart + count, 0);
    }

    /// <summary>Stores the instructions run (the finished blocks' and <paramref name="inBlock"/> of this one) and returns <paramref name="position"/>.</summary>
    private void Return(int position, int inBlock)
    {
        il.Emit(OpCodes.Ldarg_1);
        il.Emit(OpCodes.Ldloc, retired);
        if (inBlock != 0)
        {
            il.Emit(OpCodes.Ldc_I8, (long)inBlock);
            il.Emit(OpCodes.Add);
        }

        il.Emit(OpCodes.Stfld, RetiredField);
        EmitInt(position);
        il.Emit(OpCodes.Ret);
    }

    /// <summary>RIP = rip + <paramref name="endOffset"/>, the address of the next instruction (before it runs, for handlers that read it).</summary>
    public void SetNextRip(uint endOffset) => SetRip(endOffset, ulong.MaxValue);


    /// <summary>
    /// The shift's flag record after CF (in <c>result</c>, stored by the caller): OF, the result's sign differing from CF
    /// (SHL), the original sign (SHR) or clear (SAR), and the result (<c>second</c>); <c>first</c> holds the operand.
    /// </summary>
    private void StoreShiftOverflowAndResult(Shift shift, int bits)
    {
        switch (shift)
        {
            case Shift.Left:
                il.Emit(OpCodes.Ldloc, second);
                EmitInt(bits - 1);
                il.Emit(OpCodes.Shr_Un);
                il.Emit(OpCodes.Ldc_I8, 1L);
                il.Emit(OpCodes.And);
                il.Emit(OpCodes.Ldloc, result);
                il.Emit(OpCodes.Xor);
                break;
            case Shift.RightLogical:
                il.Emit(OpCodes.Ldloc, first);
                EmitInt(bits - 1);
                il.Emit(OpCodes.Shr_Un);
                il.Emit(OpCodes.Ldc_I8, 1L);
                il.Emit(OpCodes.And);
                break;
            default:
                il.Emit(OpCodes.Ldc_I8, 0L);
                break;
        }

        SetFlagField(LazySource2Offset);
        il.Emit(OpCodes.Ldloc, second);
        SetFlagField(LazyResultOffset);
    }

    /// <summary>
    /// Pushes the register a shift or rotate by an immediate works on and returns its masked count; for a count of zero
    /// it writes the register back instead (zero-extending a 32-bit one: ShiftForms.RegisterForm) and returns 0, the
    /// flags untouched and nothing left to emit.
    /// </summary>
    private int LoadOperandOfImmediateShift(in DecodedInstruction instruction)
    {
        int bits = instruction.OperandBits;
        int count = Execution.ShiftForms.MaskCount((byte)instruction.Immediate, bits);
        LoadRegister(instruction.Operand0Register, bits);
        if (count == 0)
        {
            StoreRegisterFromStack(instruction.Operand0Register, bits);
        }

        return count;
    }

    private enum Shift
    {
        None,
        Left,
        RightLogical,
        RightArithmetic,
        RotateLeft,
        RotateRight,
    }

    /// <summary>SHL/SAL, SHR, SAR, ROL and ROR by an immediate are written inline; RCL, RCR and double shifts call their operation.</summary>
    private static Shift ShiftKind(Translation translation) => translation.OperationType?.Name switch
    {
        "ShiftLeft" => Shift.Left,
        "ShiftRightLogical" => Shift.RightLogical,
        "ShiftRightArithmetic" => Shift.RightArithmetic,
        "RotateLeft" => Shift.RotateLeft,
        "RotateRight" => Shift.RotateRight,
        _ => Shift.None,
    };

    /// <summary>
    /// Rotates.RotateLeft and RotateRight with the count a constant. A masked count of zero writes the register back and
    /// leaves the flags alone; any other count sets CF and OF (SDM 2 ROL/ROR: OF as the interpreter defines it for every
    /// count) and keeps SF, ZF, AF and PF (<see cref="SetCarryAndOverflow"/>).
    /// </summary>
    private void EmitRotate(in DecodedInstruction instruction, bool left, bool flagsNeeded)
    {
        int bits = instruction.OperandBits;
        int count = LoadOperandOfImmediateShift(in instruction);
        if (count == 0)
        {
            return;
        }

        int rotate = count & (bits - 1);
        if (rotate != 0)
        {
            il.Emit(OpCodes.Stloc, first);
            il.Emit(OpCodes.Ldloc, first);
            EmitInt(rotate);
            il.Emit(left ? OpCodes.Shl : OpCodes.Shr_Un);
            il.Emit(OpCodes.Ldloc, first);
            EmitInt(bits - rotate);
            il.Emit(left ? OpCodes.Shr_Un : OpCodes.Shl);
            il.Emit(OpCodes.Or);
            if (bits != 64)
            {
                il.Emit(OpCodes.Ldc_I8, (long)((1UL << bits) - 1));
                il.Emit(OpCodes.And);
            }
        }

        il.Emit(OpCodes.Stloc, second);
        if (flagsNeeded)
        {
            // ROL: CF = the result's low bit, OF = its sign xor CF. ROR: CF = the sign, OF = the sign xor the bit below.
            ResultBit(bits - 1);
            if (left)
            {
                ResultBit(0);
                il.Emit(OpCodes.Stloc, result);
                il.Emit(OpCodes.Ldloc, result);
                il.Emit(OpCodes.Xor);
            }
            else
            {
                il.Emit(OpCodes.Dup);
                il.Emit(OpCodes.Stloc, result);
                ResultBit(bits - 2);
                il.Emit(OpCodes.Xor);
            }

            il.Emit(OpCodes.Stloc, first);
            SetCarryAndOverflow();
        }
        else
        {
            knownFlags = null;
        }

        il.Emit(OpCodes.Ldloc, second);
        StoreRegisterFromStack(instruction.Operand0Register, bits);
    }

    /// <summary>Pushes bit <paramref name="bit"/> of the second local as a ulong 0 or 1.</summary>
    private void ResultBit(int bit)
    {
        il.Emit(OpCodes.Ldloc, second);
        if (bit != 0)
        {
            EmitInt(bit);
            il.Emit(OpCodes.Shr_Un);
        }

        il.Emit(OpCodes.Ldc_I8, 1L);
        il.Emit(OpCodes.And);
    }

    /// <summary>
    /// Cpu.SetCarryAndOverflow with CF in the result local and OF in the first: the other four flags stay as the record
    /// before gives them. Over a logic or shift/IMUL record (AF clear, SF, ZF and PF from the result) the record becomes a
    /// shift/IMUL record with the new CF and OF and the same result; over materialized flags the two RFLAGS bits change
    /// (keeping only the defined bits, as the interpreter's materialization does); anything else is materialized by a call.
    /// </summary>
    private void SetCarryAndOverflow()
    {
        var rewrite = il.DefineLabel();
        var materialized = il.DefineLabel();
        var call = il.DefineLabel();
        var done = il.DefineLabel();
        if (knownFlags is { } known)
        {
            il.Emit(OpCodes.Br, known.Operation is FlagOperation.Logic or FlagOperation.ResultWithCarryOverflow ? rewrite : call);
        }
        else
        {
            StateAddress(LazyOpOffset);
            il.Emit(OpCodes.Ldind_I4);
            il.Emit(OpCodes.Dup);
            EmitInt((int)FlagOperation.Logic);
            il.Emit(OpCodes.Beq, rewrite);
            il.Emit(OpCodes.Dup);
            EmitInt((int)FlagOperation.ResultWithCarryOverflow);
            il.Emit(OpCodes.Beq, rewrite);
            il.Emit(OpCodes.Brfalse, materialized);
            il.Emit(OpCodes.Br, call);
        }

        // Branches to rewrite left the operation on the stack: pop it on that path only when it was pushed.
        il.MarkLabel(rewrite);
        if (knownFlags is null)
        {
            il.Emit(OpCodes.Pop);
        }

        StateAddress(LazyOpOffset);
        EmitInt((int)FlagOperation.ResultWithCarryOverflow);
        il.Emit(OpCodes.Stind_I4);
        il.Emit(OpCodes.Ldloc, result);
        SetFlagField(LazySource1Offset);
        il.Emit(OpCodes.Ldloc, first);
        SetFlagField(LazySource2Offset);
        il.Emit(OpCodes.Br, done);

        il.MarkLabel(materialized);
        StateAddress(RflagsOffset);
        StateAddress(RflagsOffset);
        il.Emit(OpCodes.Ldind_I8);
        il.Emit(OpCodes.Ldc_I8, (long)(Cpu.DefinedFlagBits & ~(ulong)(RflagsBits.Carry | RflagsBits.Overflow)));
        il.Emit(OpCodes.And);
        il.Emit(OpCodes.Ldc_I8, (long)RflagsBits.Reserved1);
        il.Emit(OpCodes.Or);
        il.Emit(OpCodes.Ldloc, result);
        il.Emit(OpCodes.Or);
        il.Emit(OpCodes.Ldloc, first);
        EmitInt(11);
        il.Emit(OpCodes.Shl);
        il.Emit(OpCodes.Or);
        il.Emit(OpCodes.Stind_I8);
        il.Emit(OpCodes.Br, done);

        il.MarkLabel(call);
        StoreFlagFieldsToState();
        il.Emit(OpCodes.Ldarg_1);
        il.Emit(OpCodes.Ldloc, result);
        il.Emit(OpCodes.Ldloc, first);
        il.Emit(OpCodes.Call, Operation(nameof(CompiledOperations.SetCarryAndOverflow)));
        ReloadFlagFields();
        il.MarkLabel(done);
        knownFlags = null;
    }

    /// <summary>
    /// SHL/SAL, SHR and SAR by CL (ShiftForms.RegisterForm with RegisterClCount): the count masked at run time; a masked
    /// count of zero writes the register back and leaves the flags alone, any other sets the record as
    /// <see cref="EmitShift"/> does (Shifts.ShiftLeft, ShiftRightLogical, ShiftRightArithmetic).
    /// </summary>
    private void EmitShiftByCount(in DecodedInstruction instruction, Shift shift, bool flagsNeeded)
    {
        int bits = instruction.OperandBits;
        var write = il.DefineLabel();
        LoadRegister(1, 8);
        il.Emit(OpCodes.Conv_I4);
        EmitInt(bits == 64 ? 0x3F : 0x1F);
        il.Emit(OpCodes.And);
        il.Emit(OpCodes.Stloc, Count);
        LoadRegister(instruction.Operand0Register, bits);
        il.Emit(OpCodes.Stloc, first);
        il.Emit(OpCodes.Ldloc, first);
        il.Emit(OpCodes.Stloc, second);
        il.Emit(OpCodes.Ldloc, Count);
        il.Emit(OpCodes.Brfalse, write);
        SignExtendFirstForArithmeticShift(shift, bits);

        il.Emit(OpCodes.Ldloc, first);
        il.Emit(OpCodes.Ldloc, Count);
        ShiftIntoSecond(shift, bits);
        if (flagsNeeded)
        {
            StoreFlagOperation(FlagOperation.ResultWithCarryOverflow, bits);

            // CF: the last bit shifted out (none when a left shift of an 8- or 16-bit operand moves everything out).
            var carryDone = il.DefineLabel();
            il.Emit(OpCodes.Ldc_I8, 0L);
            il.Emit(OpCodes.Stloc, result);
            if (shift == Shift.Left && bits < 32)
            {
                il.Emit(OpCodes.Ldloc, Count);
                EmitInt(bits);
                il.Emit(OpCodes.Bgt, carryDone);
            }

            il.Emit(OpCodes.Ldloc, first);
            if (shift == Shift.Left)
            {
                EmitInt(bits);
                il.Emit(OpCodes.Ldloc, Count);
                il.Emit(OpCodes.Sub);
            }
            else
            {
                il.Emit(OpCodes.Ldloc, Count);
                EmitInt(1);
                il.Emit(OpCodes.Sub);
            }

            il.Emit(shift == Shift.RightArithmetic ? OpCodes.Shr : OpCodes.Shr_Un);
            il.Emit(OpCodes.Ldc_I8, 1L);
            il.Emit(OpCodes.And);
            il.Emit(OpCodes.Stloc, result);
            il.MarkLabel(carryDone);
            il.Emit(OpCodes.Ldloc, result);
            SetFlagField(LazySource1Offset);

            StoreShiftOverflowAndResult(shift, bits);
        }

        il.MarkLabel(write);
        knownFlags = null;
        il.Emit(OpCodes.Ldloc, second);
        StoreRegisterFromStack(instruction.Operand0Register, bits);
    }

    /// <summary>For SAR, <c>first</c> sign-extended from its width, so that the shift brings in copies of its sign.</summary>
    private void SignExtendFirstForArithmeticShift(Shift shift, int bits)
    {
        if (shift == Shift.RightArithmetic)
        {
            il.Emit(OpCodes.Ldloc, first);
            EmitInt(64 - bits);
            il.Emit(OpCodes.Shl);
            EmitInt(64 - bits);
            il.Emit(OpCodes.Shr);
            il.Emit(OpCodes.Stloc, first);
        }
    }

    /// <summary>Shifts <c>first</c> (loaded, then the count on the stack) as <paramref name="shift"/> says, cut to the width, into <c>second</c>.</summary>
    private void ShiftIntoSecond(Shift shift, int bits)
    {
        ulong mask = bits == 64 ? ulong.MaxValue : (1UL << bits) - 1;
        il.Emit(shift switch { Shift.Left => OpCodes.Shl, Shift.RightLogical => OpCodes.Shr_Un, _ => OpCodes.Shr });
        if (shift != Shift.RightLogical && mask != ulong.MaxValue)
        {
            il.Emit(OpCodes.Ldc_I8, (long)mask);
            il.Emit(OpCodes.And);
        }

        il.Emit(OpCodes.Stloc, second);
    }

    private LocalBuilder? count;

    /// <summary>An int local for a shift count read at run time, declared by the first block that needs it.</summary>
    private LocalBuilder Count => count ??= il.DeclareLocal(typeof(int));

    /// <summary>
    /// Shifts.ShiftLeft, ShiftRightLogical and ShiftRightArithmetic with the count a constant: the result, and when
    /// needed the record Cpu.SetResultFlags makes (CF, OF as the interpreter defines them). A masked count of zero writes
    /// the register back (zero-extending a 32-bit one) and leaves the flags alone (ShiftForms.RegisterForm).
    /// </summary>
    private void EmitShift(in DecodedInstruction instruction, Shift shift, bool flagsNeeded)
    {
        int bits = instruction.OperandBits;
        int count = LoadOperandOfImmediateShift(in instruction);
        if (count == 0)
        {
            return;
        }

        il.Emit(OpCodes.Stloc, first);
        SignExtendFirstForArithmeticShift(shift, bits);

        il.Emit(OpCodes.Ldloc, first);
        EmitInt(count);
        ShiftIntoSecond(shift, bits);
        if (flagsNeeded)
        {
            StoreFlagOperation(FlagOperation.ResultWithCarryOverflow, bits);

            // CF: the last bit shifted out (none when a left shift moves everything out of an 8- or 16-bit operand).
            if (shift == Shift.Left && count > bits)
            {
                il.Emit(OpCodes.Ldc_I8, 0L);
            }
            else
            {
                il.Emit(OpCodes.Ldloc, first);
                EmitInt(shift == Shift.Left ? bits - count : count - 1);
                il.Emit(shift == Shift.RightArithmetic ? OpCodes.Shr : OpCodes.Shr_Un);
                il.Emit(OpCodes.Ldc_I8, 1L);
                il.Emit(OpCodes.And);
            }

            il.Emit(OpCodes.Stloc, result);
            il.Emit(OpCodes.Ldloc, result);
            SetFlagField(LazySource1Offset);

            StoreShiftOverflowAndResult(shift, bits);
        }

        knownFlags = flagsNeeded ? (FlagOperation.ResultWithCarryOverflow, bits) : null;
        il.Emit(OpCodes.Ldloc, second);
        StoreRegisterFromStack(instruction.Operand0Register, bits);
    }

    /// <summary>
    /// IMUL r, r/m and IMUL r, r/m, imm (MultiplyDivide.MultiplyTruncating): the operands sign-extended from their width,
    /// the result the product's low part, CF = OF = the product did not fit (Cpu.SetResultFlags). A 16- or 32-bit product
    /// fits in a long; a 64-bit one takes its high half from Math.BigMul, which RyuJIT compiles to one IMUL.
    /// </summary>
    private void EmitMultiply(in DecodedInstruction instruction, TranslationKind kind, bool flagsNeeded, Label handler)
    {
        int bits = instruction.OperandBits;

        // The memory operand first, while the evaluation stack is empty (a TLB miss branches to the handler).
        if (kind is TranslationKind.MultiplyLoad or TranslationKind.MultiplyLoadImmediate)
        {
            ReadMemory(in instruction, bits, handler);
            il.Emit(OpCodes.Stloc, second);
        }

        switch (kind)
        {
            case TranslationKind.MultiplyRegister:
                LoadSigned(instruction.Operand0Register, bits);
                LoadSigned(instruction.Operand1Register, bits);
                break;
            case TranslationKind.MultiplyImmediate:
                LoadSigned(instruction.Operand1Register, bits);
                SignedImmediate(in instruction, bits);
                break;
            case TranslationKind.MultiplyLoad:
                LoadSigned(instruction.Operand0Register, bits);
                il.Emit(OpCodes.Ldloc, second);
                SignExtend(bits);
                break;
            default:
                il.Emit(OpCodes.Ldloc, second);
                SignExtend(bits);
                SignedImmediate(in instruction, bits);
                break;
        }

        if (bits == 64)
        {
            // first = the high half, second = the low half (the result).
            il.Emit(OpCodes.Ldloca, Low);
            il.Emit(OpCodes.Call, BigMul);
            il.Emit(OpCodes.Stloc, first);
            il.Emit(OpCodes.Ldloc, Low);
            il.Emit(OpCodes.Stloc, second);
        }
        else
        {
            il.Emit(OpCodes.Mul);
            il.Emit(OpCodes.Stloc, first);
            il.Emit(OpCodes.Ldloc, first);
            il.Emit(OpCodes.Ldc_I8, bits == 16 ? 0xFFFFL : 0xFFFF_FFFFL);
            il.Emit(OpCodes.And);
            il.Emit(OpCodes.Stloc, second);
        }

        if (flagsNeeded)
        {
            StoreFlagOperation(FlagOperation.ResultWithCarryOverflow, bits);

            // Did not fit: the high half is not the low half's sign, or the product differs from its low part sign-extended.
            il.Emit(OpCodes.Ldloc, first);
            if (bits == 64)
            {
                il.Emit(OpCodes.Ldloc, second);
                EmitInt(63);
                il.Emit(OpCodes.Shr);
            }
            else
            {
                il.Emit(OpCodes.Ldloc, first);
                SignExtend(bits);
            }

            il.Emit(OpCodes.Ceq);
            Not();
            il.Emit(OpCodes.Conv_U8);
            il.Emit(OpCodes.Stloc, result);
            StoreFlagFields(result, result, second);
        }

        knownFlags = flagsNeeded ? (FlagOperation.ResultWithCarryOverflow, bits) : null;
        il.Emit(OpCodes.Ldloc, second);
        StoreRegisterFromStack(instruction.Operand0Register, bits);
    }

    private static readonly MethodInfo BigMul = typeof(Math).GetMethod(nameof(Math.BigMul), [typeof(long), typeof(long), typeof(long).MakeByRefType()])!;

    private LocalBuilder? low;

    /// <summary>A long local for the low half of a 64-bit product, declared by the first block that needs it.</summary>
    private LocalBuilder Low => low ??= il.DeclareLocal(typeof(long));

    private void LoadSigned(int register, int bits)
    {
        LoadRegister(register, bits);
        SignExtend(bits);
    }

    /// <summary>Sign-extends the value of <paramref name="bits"/> on the stack to 64 bits (WidthMath.SignExtend).</summary>
    private void SignExtend(int bits)
    {
        if (bits != 64)
        {
            il.Emit(bits switch { 8 => OpCodes.Conv_I1, 16 => OpCodes.Conv_I2, _ => OpCodes.Conv_I4 });
            il.Emit(OpCodes.Conv_I8);
        }
    }

    /// <summary>The immediate as MultiplyTruncating takes it: sign-extended from the operand width.</summary>
    private void SignedImmediate(in DecodedInstruction instruction, int bits) =>
        il.Emit(OpCodes.Ldc_I8, bits switch
        {
            16 => (long)(short)instruction.Immediate,
            32 => (long)(int)instruction.Immediate,
            _ => (long)instruction.Immediate,
        });

    private static bool Writes(AluOperation operation) => operation is not (AluOperation.Cmp or AluOperation.Test);

    /// <summary>The result and, when needed, the lazy flag record, exactly as Cpu.SetLazyFlags stores it.</summary>
    private void Binary(AluOperation operation, int bits, bool flagsNeeded)
    {
        bool carryIn = operation is AluOperation.Adc or AluOperation.Sbb;
        if (carryIn)
        {
            CarryFlag();
            il.Emit(OpCodes.Stloc, Carry);
        }

        il.Emit(OpCodes.Ldloc, first);
        il.Emit(OpCodes.Ldloc, second);
        FlagOperation flags;
        switch (operation)
        {
            case AluOperation.Add: il.Emit(OpCodes.Add); flags = FlagOperation.Add; break;
            case AluOperation.Adc:
                il.Emit(OpCodes.Add);
                il.Emit(OpCodes.Ldloc, Carry);
                il.Emit(OpCodes.Add);
                flags = FlagOperation.Adc;
                break;
            case AluOperation.Sbb:
                il.Emit(OpCodes.Sub);
                il.Emit(OpCodes.Ldloc, Carry);
                il.Emit(OpCodes.Sub);
                flags = FlagOperation.Sbb;
                break;
            case AluOperation.Or: il.Emit(OpCodes.Or); flags = FlagOperation.Logic; break;
            case AluOperation.And or AluOperation.Test: il.Emit(OpCodes.And); flags = FlagOperation.Logic; break;
            case AluOperation.Xor: il.Emit(OpCodes.Xor); flags = FlagOperation.Logic; break;
            default: il.Emit(OpCodes.Sub); flags = FlagOperation.Sub; break;
        }

        il.Emit(OpCodes.Stloc, result);
        if (!flagsNeeded)
        {
            knownFlags = null;
            return;
        }

        if (carryIn)
        {
            // Cpu.SetCarryIn: the carry that went in, for CF and OF of the record.
            wroteHeldState = true;
            StateAddress(RflagsOffset);
            StateAddress(RflagsOffset);
            il.Emit(OpCodes.Ldind_I8);
            il.Emit(OpCodes.Ldc_I8, (long)~Cpu.CarryInBit);
            il.Emit(OpCodes.And);
            il.Emit(OpCodes.Ldloc, Carry);
            EmitInt(63);
            il.Emit(OpCodes.Shl);
            il.Emit(OpCodes.Or);
            il.Emit(OpCodes.Stind_I8);
        }

        StoreFlagOperation(flags, bits);
        StoreFlagFields(first, second, result);
        knownFlags = (flags, bits);
    }

    private LocalBuilder? carry;

    /// <summary>A ulong local for ADC and SBB's carry in, declared by the first block that needs it.</summary>
    private LocalBuilder Carry => carry ??= il.DeclareLocal(typeof(ulong));

    /// <summary>
    /// Pushes CF of the lazy flag record (Cpu.CarryFlag) as a ulong 0 or 1. A record an inline instruction of this block
    /// wrote is read directly; otherwise the record's operation is switched on at run time, every operation inline.
    /// </summary>
    private void CarryFlag()
    {
        if (knownFlags is { } known)
        {
            ulong mask = known.Bits == 64 ? ulong.MaxValue : (1UL << known.Bits) - 1;
            CarryOf(known.Operation, offset => LazyField(offset, mask, 0));
            return;
        }

        // FlagOperation's values run from 0 without gaps, so they index the switch's targets.
        FlagOperation[] operations = Enum.GetValues<FlagOperation>();
        var labels = new Label[operations.Length];
        for (int i = 0; i < labels.Length; i++)
        {
            labels[i] = il.DefineLabel();
        }

        var done = il.DefineLabel();
        StateAddress(LazyOpOffset);
        il.Emit(OpCodes.Ldind_I4);
        il.Emit(OpCodes.Switch, labels);
        il.Emit(OpCodes.Br, labels[0]);
        for (int i = 0; i < operations.Length; i++)
        {
            // Operands shifted left by 64 - width compare as their masked values do.
            il.MarkLabel(labels[i]);
            CarryOf(operations[i], WidthAligned);
            if (i != operations.Length - 1)
            {
                il.Emit(OpCodes.Br, done);
            }
        }

        il.MarkLabel(done);
    }

    /// <summary>Pushes CF as a ulong 0 or 1 from a record of <paramref name="operation"/>, its fields pushed by <paramref name="field"/> comparable.</summary>
    private void CarryOf(FlagOperation operation, Action<int> field)
    {
        switch (operation)
        {
            case FlagOperation.None:
                StateAddress(RflagsOffset);
                il.Emit(OpCodes.Ldind_I8);
                il.Emit(OpCodes.Ldc_I8, (long)RflagsBits.Carry);
                il.Emit(OpCodes.And);
                return;
            case FlagOperation.Add or FlagOperation.Sub:
                CarryCompare(operation == FlagOperation.Add, field);
                il.Emit(OpCodes.Conv_U8);
                return;
            case FlagOperation.Adc or FlagOperation.Sbb:
                // With a carry in, an equal compare also carries (Cpu.CarryFlag).
                CarryCompare(operation == FlagOperation.Adc, field);
                StateAddress(RflagsOffset);
                il.Emit(OpCodes.Ldind_I8);
                EmitInt(63);
                il.Emit(OpCodes.Shr_Un);
                il.Emit(OpCodes.Conv_I4);
                CarryCompare(operation == FlagOperation.Adc, field, equal: true);
                il.Emit(OpCodes.And);
                il.Emit(OpCodes.Or);
                il.Emit(OpCodes.Conv_U8);
                return;
            case FlagOperation.Inc or FlagOperation.Dec:
                NonZero(LazySource2Offset);
                return;
            case FlagOperation.ResultWithCarryOverflow:
                NonZero(LazySource1Offset);
                return;
            default:
                il.Emit(OpCodes.Ldc_I8, 0L);
                return;
        }
    }

    /// <summary>Pushes result &lt; source1 (an addition) or source1 &lt; source2 (a subtraction), unsigned, or their equality.</summary>
    private void CarryCompare(bool addition, Action<int> field, bool equal = false)
    {
        field(addition ? LazyResultOffset : LazySource1Offset);
        field(addition ? LazySource1Offset : LazySource2Offset);
        il.Emit(equal ? OpCodes.Ceq : OpCodes.Clt_Un);
    }

    /// <summary>Pushes the lazy record's field at <paramref name="offset"/> shifted left by 64 - LazyBits.</summary>
    private void WidthAligned(int offset)
    {
        LoadFlagField(offset);
        EmitInt(64);
        StateAddress(LazyBitsOffset);
        il.Emit(OpCodes.Ldind_I4);
        il.Emit(OpCodes.Sub);
        il.Emit(OpCodes.Shl);
    }

    /// <summary>Pushes 1UL when the lazy record's field at <paramref name="offset"/> is not zero, else 0UL.</summary>
    private void NonZero(int offset)
    {
        LoadFlagField(offset);
        il.Emit(OpCodes.Ldc_I8, 0L);
        il.Emit(OpCodes.Cgt_Un);
        il.Emit(OpCodes.Conv_U8);
    }

    /// <summary>
    /// Pushes condition <paramref name="code"/> (0-15, SDM 2 Appendix B.1) as an int 0 or 1. When an inline instruction
    /// of this block wrote the flag record, its operation and width are known here and the condition is computed from
    /// the record's operands directly (as Cpu.Condition's fast path does at run time); otherwise Cpu.Condition decides.
    /// </summary>
    private void Condition(int code)
    {
        if (knownFlags is { } known && TryKnownCondition(known.Operation, known.Bits, code))
        {
            return;
        }

        StoreFlagFieldsToState();
        il.Emit(OpCodes.Ldarg_1);
        EmitInt(code);
        il.Emit(OpCodes.Call, Operation(nameof(CompiledOperations.Condition)));
        ReloadFlagFields();
    }

    private bool TryKnownCondition(FlagOperation operation, int bits, int code)
    {
        ulong mask = bits == 64 ? ulong.MaxValue : (1UL << bits) - 1;
        if (operation == FlagOperation.Sub && code >= 2 && code is not (8 or 9 or 10 or 11))
        {
            bool signed = code >= 0xC;
            LazyField(LazySource1Offset, mask, signed ? 64 - bits : 0);
            LazyField(LazySource2Offset, mask, signed ? 64 - bits : 0);
            switch (code)
            {
                case 2: il.Emit(OpCodes.Clt_Un); break;
                case 3: il.Emit(OpCodes.Clt_Un); Not(); break;
                case 4: il.Emit(OpCodes.Ceq); break;
                case 5: il.Emit(OpCodes.Ceq); Not(); break;
                case 6: il.Emit(OpCodes.Cgt_Un); Not(); break;
                case 7: il.Emit(OpCodes.Cgt_Un); break;
                case 0xC: il.Emit(OpCodes.Clt); break;
                case 0xD: il.Emit(OpCodes.Clt); Not(); break;
                case 0xE: il.Emit(OpCodes.Cgt); Not(); break;
                default: il.Emit(OpCodes.Cgt); break;
            }

            return true;
        }

        // INC and DEC carry CF in their record (Cpu.SetIncDecFlags); shifts and IMUL record CF and OF explicitly.
        bool explicitFlags = operation == FlagOperation.ResultWithCarryOverflow;
        if ((operation is FlagOperation.Inc or FlagOperation.Dec && code is 2 or 3) || (explicitFlags && code is 0 or 1 or 2 or 3))
        {
            NonZero(explicitFlags && code is 2 or 3 ? LazySource1Offset : LazySource2Offset);
            il.Emit(OpCodes.Conv_I4);
            if ((code & 1) != 0)
            {
                Not();
            }

            return true;
        }

        // ZF and SF come from the result of any recorded operation; logic operations also clear CF and OF (SDM 2
        // AND/OR/XOR/TEST), so B, BE, L and LE reduce to them.
        bool logic = operation == FlagOperation.Logic;
        if (logic && code is 0 or 2 or 1 or 3)
        {
            EmitInt(code is 1 or 3 ? 1 : 0);
            return true;
        }

        if (code is 4 or 5 || (logic && code is 6 or 7))
        {
            ZeroFlag(mask);
        }
        else if (code is 8 or 9 || (logic && code is 0xC or 0xD))
        {
            SignFlag(bits);
        }
        else if (logic && code is 0xE or 0xF)
        {
            ZeroFlag(mask);
            SignFlag(bits);
            il.Emit(OpCodes.Or);
        }
        else
        {
            return false;
        }

        // Each odd condition code is the negation of the even one before it (SDM 2 Appendix B.1).
        if ((code & 1) != 0)
        {
            Not();
        }

        return true;
    }

    private void LazyField(int offset, ulong mask, int shift)
    {
        LoadFlagField(offset);
        if (shift != 0)
        {
            EmitInt(shift);
            il.Emit(OpCodes.Shl);
        }
        else if (mask != ulong.MaxValue)
        {
            il.Emit(OpCodes.Ldc_I8, (long)mask);
            il.Emit(OpCodes.And);
        }
    }

    /// <summary>The three operand fields of the lazy record, from the given locals.</summary>
    private void StoreFlagFields(LocalBuilder source1, LocalBuilder source2, LocalBuilder value)
    {
        if (!cacheState)
        {
            foreach (var (offset, local) in (ReadOnlySpan<(int, LocalBuilder)>)[(LazySource1Offset, source1), (LazySource2Offset, source2), (LazyResultOffset, value)])
            {
                StateAddress(offset);
                il.Emit(OpCodes.Ldloc, local);
                il.Emit(OpCodes.Stind_I8);
            }

            wroteHeldState = true;
            return;
        }

        il.Emit(OpCodes.Ldloc, source1);
        SetFlagField(LazySource1Offset);
        il.Emit(OpCodes.Ldloc, source2);
        SetFlagField(LazySource2Offset);
        il.Emit(OpCodes.Ldloc, value);
        SetFlagField(LazyResultOffset);
    }

    private LocalBuilder FlagLocal(int offset) => offset == LazyResultOffset ? flagResult : offset == LazySource1Offset ? flagSource1 : flagSource2;

    /// <summary>Pops a ulong into the record's field at <paramref name="offset"/> (its local: see <see cref="flagResult"/>).</summary>
    private void SetFlagField(int offset)
    {
        il.Emit(OpCodes.Stloc, FlagLocal(offset));
        wroteHeldState = true;
        if (!cacheState)
        {
            StateAddress(offset);
            il.Emit(OpCodes.Ldloc, FlagLocal(offset));
            il.Emit(OpCodes.Stind_I8);
        }
    }

    /// <summary>Pushes the record's field at <paramref name="offset"/>.</summary>
    private void LoadFlagField(int offset)
    {
        if (cacheState)
        {
            il.Emit(OpCodes.Ldloc, FlagLocal(offset));
            return;
        }

        StateAddress(offset);
        il.Emit(OpCodes.Ldind_I8);
    }

    /// <summary>Writes the record's fields back to the state (with the held registers: before handlers, operations and returns).</summary>
    private void StoreFlagFieldsToState() => CopyFlagFields(toState: true);

    /// <summary>Reads the record's fields from the state again (at the region's start, and after anything that may have written them).</summary>
    private void ReloadFlagFields() => CopyFlagFields(toState: false);

    private void CopyFlagFields(bool toState)
    {
        if (!cacheState)
        {
            return;
        }

        foreach (int offset in (ReadOnlySpan<int>)[LazySource1Offset, LazySource2Offset, LazyResultOffset])
        {
            StateAddress(offset);
            if (toState)
            {
                il.Emit(OpCodes.Ldloc, FlagLocal(offset));
                il.Emit(OpCodes.Stind_I8);
            }
            else
            {
                il.Emit(OpCodes.Ldind_I8);
                il.Emit(OpCodes.Stloc, FlagLocal(offset));
            }
        }
    }

    private void ZeroFlag(ulong mask)
    {
        LazyField(LazyResultOffset, mask, 0);
        il.Emit(OpCodes.Ldc_I8, 0L);
        il.Emit(OpCodes.Ceq);
    }

    private void SignFlag(int bits)
    {
        LoadFlagField(LazyResultOffset);
        EmitInt(bits - 1);
        il.Emit(OpCodes.Shr_Un);
        il.Emit(OpCodes.Conv_I4);
        EmitInt(1);
        il.Emit(OpCodes.And);
    }

    private void Not()
    {
        EmitInt(0);
        il.Emit(OpCodes.Ceq);
    }

    private void LoadSource(in DecodedInstruction instruction, bool register)
    {
        if (register)
        {
            LoadRegister(instruction.Operand1Register, instruction.OperandBits);
        }
        else
        {
            il.Emit(OpCodes.Ldc_I8, (long)instruction.Immediate);
        }
    }

    /// <summary>Turns the ulong of <paramref name="bits"/> on the stack into its zero or sign extension to 64 bits.</summary>
    private void Extend(bool signed, int bits)
    {
        if (!signed)
        {
            return;
        }

        il.Emit(bits switch { 8 => OpCodes.Conv_I1, 16 => OpCodes.Conv_I2, _ => OpCodes.Conv_I4 });
        il.Emit(OpCodes.Conv_I8);
    }

    /// <summary>Cpu.ReadRegister: pushes the register zero-extended to a ulong (8-bit slots 16-19 are AH, CH, DH, BH).</summary>
    private void LoadRegister(int index, int bits)
    {
        if (!cacheState)
        {
            RegisterAddress(index, bits);
            LoadIndirect(bits);
            return;
        }

        if (bits == 8 && index >= 16)
        {
            if (registerCached[index - 16])
            {
                il.Emit(OpCodes.Ldloc, registerLocals[index - 16]!);
                EmitInt(8);
                il.Emit(OpCodes.Shr_Un);
                il.Emit(OpCodes.Ldc_I8, 0xFFL);
                il.Emit(OpCodes.And);
                return;
            }

            RegisterAddress(index, bits);
            LoadIndirect(bits);
            return;
        }

        if (index >= CachedRegisters)
        {
            RegisterAddress(index, bits);
            LoadIndirect(bits);
            return;
        }

        var local = CachedRegister(index);
        if (!registerCached[index])
        {
            RegisterAddress(index, 64);
            il.Emit(OpCodes.Ldind_I8);
            il.Emit(OpCodes.Stloc, local);
            registerCached[index] = true;
        }

        il.Emit(OpCodes.Ldloc, local);
        switch (bits)
        {
            case 8: il.Emit(OpCodes.Conv_U1); il.Emit(OpCodes.Conv_U8); break;
            case 16: il.Emit(OpCodes.Conv_U2); il.Emit(OpCodes.Conv_U8); break;
            case 32: il.Emit(OpCodes.Conv_U4); il.Emit(OpCodes.Conv_U8); break;
        }
    }

    /// <summary>Cpu.WriteRegister of the ulong on the stack: 32-bit writes zero the upper half, 8- and 16-bit writes merge.</summary>
    private void StoreRegisterFromStack(int index, int bits)
    {
        if (index < CachedRegisters && regionRegisters[index] && bits is 32 or 64)
        {
            // Held for the region: the local alone until a handler, an out-of-line operation or an exit needs the state.
            if (bits == 32)
            {
                il.Emit(OpCodes.Conv_U4);
                il.Emit(OpCodes.Conv_U8);
            }

            il.Emit(OpCodes.Stloc, registerLocals[index]!);
            wroteHeldState = true;
            return;
        }

        int slot = RegisterSlot(index, bits);
        il.Emit(OpCodes.Stloc, registerValue);
        if (slot < CachedRegisters && regionRegisters[slot])
        {
            // A narrow write merges into the state's copy, which must be current first.
            StoreRegionRegister(slot);
        }

        RegisterAddress(index, bits);
        il.Emit(OpCodes.Ldloc, registerValue);
        if (bits == 32)
        {
            il.Emit(OpCodes.Conv_U4);
            il.Emit(OpCodes.Conv_U8);
            bits = 64;
        }

        if (bits == 64 && index < CachedRegisters && cacheState)
        {
            // Written through: the state stays current for handlers and exits, the local serves the reads after.
            il.Emit(OpCodes.Dup);
            il.Emit(OpCodes.Stloc, CachedRegister(index));
            registerCached[index] = true;
        }

        StoreIndirect(bits);
        if (bits != 64 || index >= CachedRegisters)
        {
            ForgetRegister(slot);
        }
    }

    /// <summary>The 64-bit register slot a register operand lives in (8-bit slots 16-19 are the high bytes of 0-3).</summary>
    private static int RegisterSlot(int index, int bits) => bits == 8 && index >= 16 ? index - 16 : index;

    /// <summary>
    /// General registers 0-15 are cached in locals, so a value an instruction writes reaches the next one in a host
    /// register rather than through a store and a load of the CPU state (a loop's dependency chains otherwise wait on
    /// store-to-load forwarding at every step). Two kinds:
    /// <list type="bullet">
    /// <item>The region's most used registers are held (<see cref="HoldRegionRegisters"/>): loaded once on entry, their
    /// locals are the registers for the whole region and are written back to the state only where something else needs
    /// it there: before a handler (from the values before the instruction: no inline form writes one before its last
    /// branch to the handler, which <see cref="BranchToHandler"/> checks), before an out-of-line operation, and at every
    /// return. After a handler the locals are read again.</item>
    /// <item>Others are cached within a member and written through to the state at every write; the cache starts empty
    /// at every member (which may be reached from several others).</item>
    /// </list>
    /// The cache is a property of the emitted straight-line code: a register is cached only where every path to the
    /// point has loaded or written it, and anything that writes registers behind the emitter's back (handlers,
    /// out-of-line operations) refreshes or forgets.
    /// </summary>
    private const int CachedRegisters = 16;

    private readonly LocalBuilder?[] registerLocals = new LocalBuilder?[CachedRegisters];
    private readonly bool[] registerCached = new bool[CachedRegisters];

    /// <summary>
    /// The registers held in their locals across the whole region (<see cref="HoldRegionRegisters"/>): loaded once on
    /// entry and kept current everywhere, so they are cached at the start of every member too.
    /// </summary>
    private readonly bool[] regionRegisters = new bool[CachedRegisters];

    /// <summary>
    /// Whether registers and the flag record are cached in locals at all: only in code that can go round a loop, where
    /// values pass from one iteration to the next; elsewhere RyuJIT's time for the extra locals and the write-backs
    /// on every handler path outweighs what a single run saves, so straight code reads and writes the state directly.
    /// </summary>
    private bool cacheState;

    private LocalBuilder CachedRegister(int index) => registerLocals[index] ??= il.DeclareLocal(typeof(ulong));

    private void ForgetRegister(int index)
    {
        if (index >= CachedRegisters)
        {
            return;
        }

        if (regionRegisters[index])
        {
            // Held for the region: read again rather than forgotten, so every member can rely on it.
            RegisterAddress(index, 64);
            il.Emit(OpCodes.Ldind_I8);
            il.Emit(OpCodes.Stloc, registerLocals[index]!);
            wroteHeldState = true;
            return;
        }

        registerCached[index] = false;
    }

    private void ForgetRegisters() => Array.Copy(regionRegisters, registerCached, CachedRegisters);

    /// <summary>
    /// Whether the instruction being emitted has written a held register's or the flag record's local, or the record's
    /// operation in the state: its handler could no longer start from the state as it was before the instruction.
    /// </summary>
    private bool wroteHeldState;

    /// <summary>
    /// A branch to the instruction's handler path, which stores the held registers' locals to the state before the
    /// handler runs the whole instruction again: the locals must still hold the values from before the instruction.
    /// </summary>
    private void BranchToHandler(OpCode branch, Label handler)
    {
        if (wroteHeldState)
        {
            throw new InvalidOperationException("an inline form wrote a held register or the flag record before a branch to its handler");
        }

        il.Emit(branch, handler);
    }

    private void StoreRegionRegister(int index)
    {
        RegisterAddress(index, 64);
        il.Emit(OpCodes.Ldloc, registerLocals[index]!);
        il.Emit(OpCodes.Stind_I8);
    }

    /// <summary>Writes the held registers back to the state (before a handler or an operation that reads them there, and at a return).</summary>
    private void StoreRegionRegisters()
    {
        for (int index = 0; index < CachedRegisters; index++)
        {
            if (regionRegisters[index])
            {
                StoreRegionRegister(index);
            }
        }
    }

    /// <summary>
    /// Loads <paramref name="registers"/> into their locals at the region's start (before its first member) and keeps
    /// them there for the whole region: values that pass from one member to the next (a loop counter, the stack
    /// pointer across a call and its return) then stay in host registers instead of going through the state.
    /// </summary>
    /// <param name="loops">Whether the code can go round at all; without, nothing is cached (see <see cref="cacheState"/>).</param>
    public void HoldRegionRegisters(bool loops, IEnumerable<int> registers)
    {
        cacheState = loops;
        if (!loops)
        {
            return;
        }

        ReloadFlagFields();
        foreach (int index in registers)
        {
            RegisterAddress(index, 64);
            il.Emit(OpCodes.Ldind_I8);
            il.Emit(OpCodes.Stloc, CachedRegister(index));
            regionRegisters[index] = true;
            registerCached[index] = true;
        }
    }

    /// <summary>Reads every cached register again from the state (after a handler, which may have written any of them).</summary>
    private void ReloadCachedRegisters()
    {
        for (int index = 0; index < CachedRegisters; index++)
        {
            if (registerCached[index])
            {
                RegisterAddress(index, 64);
                il.Emit(OpCodes.Ldind_I8);
                il.Emit(OpCodes.Stloc, registerLocals[index]!);
            }
        }
    }

    private void RegisterAddress(int index, int bits)
    {
        // Safety: the decoder's register slots are 0-17 (8-bit 16-19 name the high bytes of slots 0-3), inside Gpr.
        int offset = bits == 8 && index >= 16 ? GprOffset + ((index - 16) * 8) + 1 : GprOffset + (index * 8);
        StateAddress(offset);
    }

    private void RipAddress() => StateAddress(GprOffset + (CpuState.RipIndex * 8));

    /// <summary>Records which operation at which width the lazy flag record describes (its operands follow separately).</summary>
    private void StoreFlagOperation(FlagOperation operation, int bits)
    {
        wroteHeldState = true;
        if (LazyBitsOffset == LazyOpOffset + sizeof(int))
        {
            // Side by side: one store of both.
            StateAddress(LazyOpOffset);
            il.Emit(OpCodes.Ldc_I8, ((long)bits << 32) | (uint)operation);
            il.Emit(OpCodes.Stind_I8);
            return;
        }

        StateAddress(LazyOpOffset);
        EmitInt((int)operation);
        il.Emit(OpCodes.Stind_I4);
        StateAddress(LazyBitsOffset);
        EmitInt(bits);
        il.Emit(OpCodes.Stind_I4);
    }

    private void StateAddress(int offset)
    {
        il.Emit(OpCodes.Ldarg_2);
        if (offset != 0)
        {
            EmitInt(offset);
            il.Emit(OpCodes.Add);
        }
    }

    /// <summary>RIP = (rip + <paramref name="offset"/>) &amp; <paramref name="mask"/>, rip being the block's first instruction's address.</summary>
    private void SetRip(ulong offset, ulong mask)
    {
        if (cacheState)
        {
            RipValue(offset, mask);
            il.Emit(OpCodes.Stloc, RipLocal);
            return;
        }

        SetRipInState(offset, mask);
    }

    private void SetRipInState(ulong offset, ulong mask)
    {
        RipAddress();
        RipValue(offset, mask);
        il.Emit(OpCodes.Stind_I8);
    }

    private void RipValue(ulong offset, ulong mask)
    {
        il.Emit(OpCodes.Ldarg_S, (byte)4);
        il.Emit(OpCodes.Ldc_I8, (long)offset);
        il.Emit(OpCodes.Add);
        if (mask != ulong.MaxValue)
        {
            il.Emit(OpCodes.Ldc_I8, (long)mask);
            il.Emit(OpCodes.And);
        }
    }

    private LocalBuilder? ripLocal;

    /// <summary>
    /// RIP while code that caches state runs: jumps and block ends set it here, the transitions between members compare
    /// it (RyuJIT can then see a constant target), and it is written to the state before a handler and at a return.
    /// </summary>
    private LocalBuilder RipLocal => ripLocal ??= il.DeclareLocal(typeof(ulong));

    private void StoreRip(LocalBuilder value)
    {
        if (cacheState)
        {
            il.Emit(OpCodes.Ldloc, value);
            il.Emit(OpCodes.Stloc, RipLocal);
            return;
        }

        RipAddress();
        il.Emit(OpCodes.Ldloc, value);
        il.Emit(OpCodes.Stind_I8);
    }

    private void LoadRip()
    {
        if (cacheState)
        {
            il.Emit(OpCodes.Ldloc, RipLocal);
            return;
        }

        RipAddress();
        il.Emit(OpCodes.Ldind_I8);
    }

    private void ReturnAddress(in DecodedInstruction instruction)
    {
        il.Emit(OpCodes.Ldarg_S, (byte)4);
        il.Emit(OpCodes.Ldc_I8, (long)instruction.EndOffset);
        il.Emit(OpCodes.Add);
    }

    /// <summary>DecodedInstruction.EffectiveAddress with the recipe as constants; the zero register is left out.</summary>
    private void EffectiveAddress(in DecodedInstruction instruction)
    {
        if (instruction.BaseRegister == CpuState.RipIndex)
        {
            ReturnAddress(in instruction);
        }
        else if (instruction.BaseRegister != CpuState.ZeroIndex)
        {
            LoadRegister(instruction.BaseRegister, 64);
        }
        else
        {
            il.Emit(OpCodes.Ldc_I8, 0L);
        }

        if (instruction.IndexRegister != CpuState.ZeroIndex)
        {
            LoadRegister(instruction.IndexRegister, 64);
            if (instruction.ScaleShift != 0)
            {
                EmitInt(instruction.ScaleShift);
                il.Emit(OpCodes.Shl);
            }

            il.Emit(OpCodes.Add);
        }

        if (instruction.Displacement != 0)
        {
            il.Emit(OpCodes.Ldc_I8, instruction.Displacement);
            il.Emit(OpCodes.Add);
        }

        if (instruction.AddressMask != ulong.MaxValue)
        {
            il.Emit(OpCodes.Ldc_I8, (long)instruction.AddressMask);
            il.Emit(OpCodes.And);
        }
    }

    /// <summary>The operand's linear address into the local; segments with limits to check go to the handler.</summary>
    private void LinearAddress(in DecodedInstruction instruction, Label handler)
    {
        StateAddress(SegmentChecksOffset);
        il.Emit(OpCodes.Ldind_I4);
        BranchToHandler(OpCodes.Brtrue, handler);
        EffectiveAddress(in instruction);
        if (instruction.SegmentSlot != CpuState.ZeroSegmentSlot)
        {
            StateAddress(SegmentBaseOffset + (instruction.SegmentSlot * 8));
            il.Emit(OpCodes.Ldind_I8);
            il.Emit(OpCodes.Add);
        }

        if (instruction.LinearMask != ulong.MaxValue)
        {
            il.Emit(OpCodes.Ldc_I8, (long)instruction.LinearMask);
            il.Emit(OpCodes.And);
        }

        il.Emit(OpCodes.Stloc, linear);
    }

    /// <summary>Pushes the memory operand of <paramref name="bits"/>, zero-extended; a TLB miss goes to the handler.</summary>
    private void ReadMemory(in DecodedInstruction instruction, int bits, Label handler)
    {
        LinearAddress(in instruction, handler);
        TlbHost(write: false, bits / 8, handler);
        il.Emit(OpCodes.Ldloc, host);
        LoadIndirect(bits);
    }

    private void WritableHost(in DecodedInstruction instruction, int bits, Label handler)
    {
        LinearAddress(in instruction, handler);
        TlbHost(write: true, bits / 8, handler);
    }

    /// <summary>The 64-bit stack slot RSP + <paramref name="delta"/> into the linear-address local (64-bit mode: no SS base).</summary>
    private void StackSlot(int delta)
    {
        LoadRegister(4, 64);
        if (delta != 0)
        {
            il.Emit(OpCodes.Ldc_I8, (long)delta);
            il.Emit(OpCodes.Add);
        }

        il.Emit(OpCodes.Stloc, linear);
    }

    /// <summary>RSP = the linear-address local + <paramref name="delta"/> (the result local is left alone: a POP or RET holds its value there).</summary>
    private void SetStackPointerFromLinear(long delta)
    {
        il.Emit(OpCodes.Ldloc, linear);
        if (delta != 0)
        {
            il.Emit(OpCodes.Ldc_I8, delta);
            il.Emit(OpCodes.Add);
        }

        StoreRegisterFromStack(4, 64);
    }

    private void BranchUnlessCanonical(LocalBuilder value, Label handler)
    {
        il.Emit(OpCodes.Ldloc, value);
        EmitInt(16);
        il.Emit(OpCodes.Shl);
        EmitInt(16);
        il.Emit(OpCodes.Shr);
        il.Emit(OpCodes.Ldloc, value);
        BranchToHandler(OpCodes.Bne_Un, handler);
    }

    /// <summary>
    /// Cpu.TryRead / TryWrite inline: the host address of <paramref name="size"/> bytes at the linear-address local into
    /// the host local, or a branch to the handler when the TLB does not map them all to guest RAM. The entry is the
    /// first byte's page's; its tag is compared with the last byte's page, which is the same page exactly when the
    /// access does not cross into the next one (an entry's slot is its page number's low bits, so the next page's
    /// number is never the tag found there).
    /// </summary>
    private void TlbHost(bool write, int size, Label handler)
    {
        il.Emit(OpCodes.Ldarg_1);
        il.Emit(OpCodes.Ldfld, write ? WriteTlbField : ReadTlbField);
        il.Emit(OpCodes.Ldloc, linear);
        EmitInt(12 - EntrySizeShift);
        il.Emit(OpCodes.Shr_Un);
        il.Emit(OpCodes.Ldc_I8, (long)(Cpu.TlbEntriesPerTableShared - 1) << EntrySizeShift);
        il.Emit(OpCodes.And);
        il.Emit(OpCodes.Conv_I);
        il.Emit(OpCodes.Add);
        il.Emit(OpCodes.Stloc, entry);
        il.Emit(OpCodes.Ldloc, entry);
        il.Emit(OpCodes.Ldind_I8);
        il.Emit(OpCodes.Ldloc, linear);
        if (size > 1)
        {
            il.Emit(OpCodes.Ldc_I8, (long)(size - 1));
            il.Emit(OpCodes.Add);
        }

        EmitInt(12);
        il.Emit(OpCodes.Shr_Un);
        BranchToHandler(OpCodes.Bne_Un, handler);
        il.Emit(OpCodes.Ldloc, entry);
        EmitInt(AddendOffset);
        il.Emit(OpCodes.Add);
        il.Emit(OpCodes.Ldind_I);
        il.Emit(OpCodes.Ldloc, linear);
        il.Emit(OpCodes.Conv_I);
        il.Emit(OpCodes.Add);
        il.Emit(OpCodes.Stloc, host);
    }

    /// <summary>Loads <paramref name="bits"/> from the address on the stack, zero-extended to a ulong.</summary>
    private void LoadIndirect(int bits)
    {
        if (bits != 8)
        {
            il.Emit(OpCodes.Unaligned, (byte)1);
        }

        switch (bits)
        {
            case 8: il.Emit(OpCodes.Ldind_U1); il.Emit(OpCodes.Conv_U8); break;
            case 16: il.Emit(OpCodes.Ldind_U2); il.Emit(OpCodes.Conv_U8); break;
            case 32: il.Emit(OpCodes.Ldind_U4); il.Emit(OpCodes.Conv_U8); break;
            default: il.Emit(OpCodes.Ldind_I8); break;
        }
    }

    /// <summary>Stores the low <paramref name="bits"/> of the ulong on the stack at the address below it.</summary>
    private void StoreIndirect(int bits)
    {
        if (bits != 64)
        {
            il.Emit(OpCodes.Conv_U4);
        }

        if (bits != 8)
        {
            il.Emit(OpCodes.Unaligned, (byte)1);
        }

        il.Emit(bits switch { 8 => OpCodes.Stind_I1, 16 => OpCodes.Stind_I2, 32 => OpCodes.Stind_I4, _ => OpCodes.Stind_I8 });
    }

    /// <summary>
    /// Pushes the address of the region's <paramref name="index"/>th instruction: a constant, since the copy is pinned
    /// for as long as the code lives, so no register holds the array's address through the region.
    /// </summary>
    private void InstructionPointer(int index)
    {
        il.Emit(OpCodes.Ldc_I8, (long)(instructions + index));
        il.Emit(OpCodes.Conv_I);
    }

    private void EmitInt(int value) => il.Emit(OpCodes.Ldc_I4, value);

    private static readonly Dictionary<string, MethodInfo> Operations = typeof(CompiledOperations)
        .GetMethods(BindingFlags.Public | BindingFlags.Static)
        .ToDictionary(m => m.Name);

    private static MethodInfo Operation(string name) => Operations[name];
}
