using System.Reflection;
using System.Reflection.Emit;
using Vessel.X86.Cpu.Decoding;

namespace Vessel.X86.Cpu.Jit;

/// <summary>
/// Translates a decoded block to a <see cref="DynamicMethod"/> that RyuJIT compiles to host code (the second tier of
/// DESIGN.md's software CPU). Each instruction is written as IL by <see cref="BlockEmitter"/>: inline, or as a call to
/// its interpreter handler; the block keeps the interpreter's contract (RIP at the next instruction while an
/// instruction that may read it or fault runs, a stop after any instruction that may stop the block, the count of
/// instructions run returned), so faults, exits and the instruction counter come out the same. Flags an instruction
/// computes that a later one in the block overwrites unseen are not recorded (dead-flag elimination).
/// </summary>
public static unsafe class BlockCompiler
{
    private static readonly Type[] Parameters = [typeof(object), typeof(Cpu), typeof(CpuState*), typeof(DecodedInstruction*), typeof(ulong)];

    /// <summary>Compiles <paramref name="block"/> alone; the code is valid for as long as the block is (same bytes, same code width).</summary>
    public static CompiledRegion Compile(DecodedBlock block, out int translatedInline) => Compile([new RegionMember(block, 0)], out translatedInline, out _);

    /// <summary>
    /// Compiles a region: <paramref name="members"/>[0] is the entry, the others blocks it may lead to, each with its
    /// first byte's offset from the region's base. They must share a code width, and their RIPs must keep those
    /// offsets for as long as the code is used (the compiling tier forms regions from one code page: see Cpu's
    /// FormRegion). The code is valid for as long as the entry block is.
    /// </summary>
    public static CompiledRegion Compile(IReadOnlyList<RegionMember> members, out int translatedInline, out int ilBytes)
    {
        int total = 0;
        foreach (var member in members)
        {
            total += member.Block.Count;
        }

        // One pinned copy of every member's instructions, their end offsets counted from the region's base, so the code
        // can name any instruction by its address and the caller find a faulting one from the position returned.
        var instructions = GC.AllocateArray<DecodedInstruction>(total, pinned: true);
        int position = 0;
        foreach (var member in members)
        {
            for (int i = 0; i < member.Block.Count; i++)
            {
                instructions[position] = member.Block.Instructions[i];
                instructions[position].EndOffset += member.Offset;
                position++;
            }
        }

        var region = new CompiledRegion(instructions, members[0].Offset, members.Count);
        var entry = members[0].Block;
        var method = new DynamicMethod($"block_{entry.PhysicalAddress:x}_{entry.CodeBits}", typeof(int), Parameters, typeof(BlockCompiler).Module, skipVisibility: true);
        var il = method.GetILGenerator(64 + (total * 64));
        var emitter = new BlockEmitter(il, entry.CodeBits, region.First);
        translatedInline = 0;

        // Called without a CPU, the code returns at once: the background compiler calls it so to have RyuJIT compile it.
        var body = il.DefineLabel();
        il.Emit(OpCodes.Ldarg_1);
        il.Emit(OpCodes.Brtrue, body);
        il.Emit(OpCodes.Ldc_I4_0);
        il.Emit(OpCodes.Ret);
        il.MarkLabel(body);

        var labels = new Label[members.Count];
        var memberKinds = new Translation[members.Count][];
        for (int m = 0; m < members.Count; m++)
        {
            labels[m] = il.DefineLabel();
            var block = members[m].Block;
            memberKinds[m] = new Translation[block.Count];
            for (int i = 0; i < block.Count; i++)
            {
                memberKinds[m][i] = HandlerRecognizer.Classify(in block.Instructions[i]);
            }
        }

        // Holding registers pays where values go round a loop; a block run once per call would only load and store them.
        bool loops = Loops(members, memberKinds);
        emitter.HoldRegionRegisters(loops, loops ? MostUsedRegisters(members, memberKinds) : []);

        // Where each member may go, and so where each may be entered from.
        var starts = new int[members.Count];
        var successors = new IReadOnlyList<(uint Offset, Label Label)>[members.Count];
        var predecessors = new List<int>[members.Count];
        var returnAddresses = ReturnAddresses(members, memberKinds);
        position = 0;
        for (int m = 0; m < members.Count; m++)
        {
            starts[m] = position;
            position += members[m].Block.Count;
            successors[m] = Successors(members, in instructions[position - 1], memberKinds[m][^1], labels, returnAddresses);
            predecessors[m] = [];
        }

        for (int m = 0; m < members.Count; m++)
        {
            foreach (var (offset, _) in successors[m])
            {
                predecessors[IndexOf(members, offset)].Add(m);
            }
        }

        var flagsAtEnd = new (FlagOperation Operation, int Bits)?[members.Count];
        for (int m = 0; m < members.Count; m++)
        {
            var block = members[m].Block;
            int count = block.Count;
            var kinds = memberKinds[m];
            position = starts[m];
            bool[] flagsNeeded = FindLiveFlags(kinds, block.Instructions);
            il.MarkLabel(labels[m]);
            emitter.BeginBlock(position, FlagsOnEntry(m, predecessors[m], flagsAtEnd));
            for (int i = 0; i < count; i++)
            {
                ref readonly var instruction = ref instructions[position + i];
                bool last = i == count - 1;
                if (kinds[i].Kind != TranslationKind.Handler)
                {
                    translatedInline++;
                }

                // The block's end leaves RIP at the next instruction unless its last instruction (a jump) moves it.
                if (last)
                {
                    emitter.SetNextRip(instruction.EndOffset);
                }

                emitter.Emit(in instruction, position + i, kinds[i], flagsNeeded[i], last);
            }

            flagsAtEnd[m] = emitter.KnownFlags;
            emitter.EndBlock(count, successors[m]);
        }

        emitter.EmitExits();
        ilBytes = il.ILOffset;

        // Bound to the region as its (unused) first argument: a closed delegate is called directly, where an open static
        // one goes through a shuffle thunk on every call; it also keeps the pinned instructions alive with the code.
        region.Code = (CompiledBlockCode)method.CreateDelegate(typeof(CompiledBlockCode), region);
        return region;
    }

    /// <summary>
    /// The flag record's operation and width when member <paramref name="m"/> starts, as far as compiling can tell: known
    /// when every member that may lead to it was compiled before it and ended with the same known record (so a loop's
    /// DEC after a call's CMP; RET reads CF inline); unknown for the entry, which is also entered from outside.
    /// </summary>
    private static (FlagOperation Operation, int Bits)? FlagsOnEntry(int m, List<int> predecessors, (FlagOperation Operation, int Bits)?[] flagsAtEnd)
    {
        if (m == 0 || predecessors.Count == 0 || predecessors.Exists(p => p >= m))
        {
            return null;
        }

        var flags = flagsAtEnd[predecessors[0]];
        return predecessors.TrueForAll(p => flagsAtEnd[p] == flags) ? flags : null;
    }

    private static int IndexOf(IReadOnlyList<RegionMember> members, uint offset)
    {
        for (int m = 0; m < members.Count; m++)
        {
            if (members[m].Offset == offset)
            {
                return m;
            }
        }

        throw new InvalidOperationException($"no member at offset 0x{offset:x}");
    }

    /// <summary>Whether the code can go round: several members (formed around a loop), or one that may jump back to itself.</summary>
    private static bool Loops(IReadOnlyList<RegionMember> members, Translation[][] memberKinds)
    {
        if (members.Count > 1)
        {
            return true;
        }

        var block = members[0].Block;
        Span<long> targets = stackalloc long[2];
        int count = RegionFormation.StaticSuccessors(in block.Instructions[block.Count - 1], memberKinds[0][^1], targets, withReturnAddress: false);
        for (int t = 0; t < count; t++)
        {
            if (targets[t] == 0)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Most general registers one region holds in locals throughout: RyuJIT has nine scratch registers to give.</summary>
    private const int MaxRegionRegisters = 5;

    /// <summary>
    /// The general registers the members' inline instructions name most often (at least twice), most used first, up to
    /// <see cref="MaxRegionRegisters"/>: the ones worth holding in locals for the whole region. Which fields an
    /// instruction really uses depends on its form, so this counts every register field it has; a wrong guess only
    /// costs a load at the region's start.
    /// </summary>
    private static IEnumerable<int> MostUsedRegisters(IReadOnlyList<RegionMember> members, Translation[][] memberKinds)
    {
        Span<int> uses = stackalloc int[16];
        for (int m = 0; m < members.Count; m++)
        {
            var block = members[m].Block;
            for (int i = 0; i < block.Count; i++)
            {
                ref readonly var instruction = ref block.Instructions[i];
                var kind = memberKinds[m][i].Kind;
                if (kind == TranslationKind.Handler)
                {
                    continue;
                }

                foreach (int register in (ReadOnlySpan<int>)[instruction.Operand0Register, instruction.Operand1Register, instruction.BaseRegister, instruction.IndexRegister])
                {
                    if (register < 16)
                    {
                        uses[register]++;
                    }
                }

                if (kind is TranslationKind.PushRegister or TranslationKind.PopRegister or TranslationKind.CallRelative
                    or TranslationKind.Return or TranslationKind.CallIndirectRegister)
                {
                    uses[4] += 2;
                }
            }
        }

        var chosen = new List<int>();
        for (int register = 0; register < 16; register++)
        {
            if (uses[register] >= 2)
            {
                chosen.Add(register);
            }
        }

        int[] counts = uses.ToArray();
        return chosen.OrderByDescending(register => counts[register]).Take(MaxRegionRegisters).ToList();
    }

    /// <summary>
    /// The members a member may go to, with their labels: the targets a direct jump, call or fall-through names, or
    /// every member after a return, an indirect jump or a handler (where RIP is known only when it has run).
    /// </summary>
    private static List<(uint Offset, Label Label)> Successors(
        IReadOnlyList<RegionMember> members, in DecodedInstruction last, Translation kind, Label[] labels, HashSet<uint> returnAddresses)
    {
        var found = new List<(uint Offset, Label Label)>();
        Span<long> targets = stackalloc long[2];
        int count = RegionFormation.StaticSuccessors(in last, kind, targets, withReturnAddress: false);
        for (int m = 0; m < members.Count; m++)
        {
            bool named = count < 0;
            for (int t = 0; t < count; t++)
            {
                named |= targets[t] == members[m].Offset;
            }

            if (named)
            {
                found.Add((members[m].Offset, labels[m]));
            }
        }

        // A return goes back after a call: the members that follow a call of the region are compared first.
        if (kind.Kind == TranslationKind.Return)
        {
            return [.. found.OrderBy(successor => returnAddresses.Contains(successor.Offset) ? 0 : 1)];
        }

        return found;
    }

    /// <summary>Where the region's calls return to: the offsets after members that end with a call.</summary>
    private static HashSet<uint> ReturnAddresses(IReadOnlyList<RegionMember> members, Translation[][] memberKinds)
    {
        var found = new HashSet<uint>();
        for (int m = 0; m < members.Count; m++)
        {
            var block = members[m].Block;
            if (memberKinds[m][^1].Kind is TranslationKind.CallRelative or TranslationKind.CallIndirectRegister)
            {
                found.Add(members[m].Offset + block.Instructions[block.Count - 1].EndOffset);
            }
        }

        return found;
    }

    /// <summary>
    /// Backward liveness of the lazy flag record: an ALU instruction must record its flags unless a later one in the
    /// block replaces the record before anything can look at it. Anything that may fault or leave the block (handlers,
    /// memory accesses, the block's end) looks, since a fault pushes RFLAGS and the next block may read them.
    /// </summary>
    private static bool[] FindLiveFlags(Translation[] kinds, DecodedInstruction[] instructions)
    {
        var needed = new bool[kinds.Length];
        bool live = true;
        for (int i = kinds.Length - 1; i >= 0; i--)
        {
            switch (kinds[i].Kind)
            {
                case TranslationKind.BinaryRegister or TranslationKind.BinaryImmediate
                    when kinds[i].Operation is AluOperation.Adc or AluOperation.Sbb:
                    // ADC and SBB read CF from the record before them.
                    needed[i] = live;
                    live = true;
                    break;
                case TranslationKind.BinaryRegister or TranslationKind.BinaryImmediate:
                    needed[i] = live;
                    live = false;
                    break;
                case TranslationKind.ShiftImmediate
                    when Execution.ShiftForms.MaskCount((byte)instructions[i].Immediate, instructions[i].OperandBits) == 0:
                    // A masked count of zero leaves the flags alone.
                    break;
                case TranslationKind.ShiftImmediate when kinds[i].OperationType?.Name is "ShiftLeft" or "ShiftRightLogical" or "ShiftRightArithmetic":
                    needed[i] = live;
                    live = false;
                    break;
                case TranslationKind.MultiplyRegister or TranslationKind.MultiplyImmediate:
                    needed[i] = live;
                    live = false;
                    break;
                case TranslationKind.MultiplyLoad or TranslationKind.MultiplyLoadImmediate:
                    // The load may fault before the record is replaced, so the record before stays live.
                    needed[i] = live;
                    live = true;
                    break;
                case TranslationKind.ShiftCount:
                    // A count of zero at run time leaves the record before in place.
                    needed[i] = live;
                    break;
                case TranslationKind.ShiftImmediate when kinds[i].OperationType?.Name is "RotateLeft" or "RotateRight":
                    // ROL and ROR replace CF and OF and keep the other flags of the record before, like INC/DEC.
                    needed[i] = live;
                    break;
                case TranslationKind.Increment or TranslationKind.Decrement:
                    // INC and DEC carry CF over from the record before them, but only when their own record is needed.
                    needed[i] = live;
                    break;
                case TranslationKind.MoveRegister or TranslationKind.MoveImmediate or TranslationKind.LoadEffectiveAddress
                    or TranslationKind.ZeroExtendRegister or TranslationKind.SignExtendRegister or TranslationKind.JumpRelative:
                    break;
                default:
                    live = true;
                    break;
            }
        }

        return needed;
    }
}
