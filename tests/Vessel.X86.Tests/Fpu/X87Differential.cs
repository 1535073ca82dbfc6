using System.Runtime.InteropServices;
using Iced.Intel;
using Vessel.Core.Memory;
using Vessel.X86.Tests.Guests;
using Vessel.X86.Tests.Sse;
using static Iced.Intel.AssemblerRegisters;

namespace Vessel.X86.Tests.Fpu;

/// <summary>
/// Runs one x87 instruction over many <see cref="X87Record"/>s on the host and on our CPU and compares FCW, FSW, the
/// full tag word, every non-empty register, the memory operand, RAX and the arithmetic flags.
/// </summary>
public static class X87Differential
{
    /// <summary>The same record body for both sides: load the stack, run the instruction, FNSAVE everything.</summary>
    public static void EmitRecordBody(Assembler a, byte[] instruction)
    {
        a.fninit();
        a.fldcw(__word_ptr[rsi + X87Record.ControlWordOffset]);
        a.fld(__tword_ptr[rsi + X87Record.StackOffset + 32]);
        a.fld(__tword_ptr[rsi + X87Record.StackOffset + 16]);
        a.fld(__tword_ptr[rsi + X87Record.StackOffset]);
        a.push(__qword_ptr[rsi + X87Record.RflagsInOffset]);
        a.popfq();
        a.xor(eax, eax);
        a.db(instruction);
        a.pushfq();
        a.pop(rbx);
        a.mov(__qword_ptr[rsi + X87Record.RflagsOutOffset], rbx);
        a.mov(__qword_ptr[rsi + X87Record.RaxOffset], rax);
        a.fnsave(__zmmword_ptr[rsi + X87Record.SaveOffset]);
    }

    public static X87Record[] RunNative(byte[] instruction, X87Record[] inputs)
    {
        var results = (X87Record[])inputs.Clone();
        using var executor = new NativeSseExecutor(a => EmitRecordBody(a, instruction));
        for (int i = 0; i < results.Length; i++)
        {
            executor.Run(ref results[i]);
        }

        return results;
    }

    public static X87Record[] RunEmulated(byte[] instruction, X87Record[] inputs)
    {
        using var guest = new LongModeGuest(a =>
        {
            var loop = a.CreateLabel();
            a.mov(rsi, LongModeGuest.DataAddress);
            a.mov(r8d, inputs.Length);
            a.Label(ref loop);
            EmitRecordBody(a, instruction);
            a.add(rsi, X87Record.Size);
            a.dec(r8d);
            a.jnz(loop);
            LongModeGuest.EmitExit(a, 0);
        });
        guest.Memory.WriteBytes(new GuestAddress(LongModeGuest.DataAddress), MemoryMarshal.AsBytes(inputs.AsSpan()));
        var exit = guest.Run();
        Assert.True(guest.Io.ExitValue == 0u, $"the guest did not finish: {exit}");
        var results = new X87Record[inputs.Length];
        guest.Memory.ReadBytes(new GuestAddress(LongModeGuest.DataAddress), MemoryMarshal.AsBytes(results.AsSpan()));
        return results;
    }

    /// <summary>
    /// Compares host and guest; <paramref name="statusMask"/> picks the FSW bits compared, and
    /// <paramref name="registerTolerance"/>, when given, accepts register values that differ (transcendentals).
    /// </summary>
    public static unsafe void AssertSame(string name, byte[] instruction, X87Record[] inputs, ushort statusMask = 0xFFFF, Func<byte[], byte[], bool>? registerTolerance = null)
    {
        var native = RunNative(instruction, inputs);
        var emulated = RunEmulated(instruction, inputs);
        var failures = new List<string>();
        for (int i = 0; i < inputs.Length && failures.Count < 6; i++)
        {
            var n = native[i];
            var e = emulated[i];
            ushort fcwN = Word(n, 0), fcwE = Word(e, 0);
            ushort fswN = Word(n, 4), fswE = Word(e, 4);
            ushort ftwN = Word(n, 8), ftwE = Word(e, 8);
            bool same = fcwN == fcwE && (fswN & statusMask) == (fswE & statusMask) && ftwN == ftwE
                && n.Memory[0] == e.Memory[0] && n.Memory[1] == e.Memory[1] && n.Rax == e.Rax
                && (n.RflagsOut & SseDifferential.ArithmeticFlags) == (e.RflagsOut & SseDifferential.ArithmeticFlags);
            int top = (fswN >> 11) & 7;
            for (int st = 0; st < 8 && same; st++)
            {
                int physical = (top + st) & 7;
                if (((ftwN >> (physical * 2)) & 3) == 3)
                {
                    continue;
                }

                byte[] a = Register(n, st);
                byte[] b = Register(e, st);
                if (!a.AsSpan().SequenceEqual(b) && !(registerTolerance?.Invoke(a, b) ?? false))
                {
                    same = false;
                }
            }

            if (!same)
            {
                var input = inputs[i];
                failures.Add(
                    $"#{i} in: st0={Extended(input.Stack[1], input.Stack[0])} st1={Extended(input.Stack[3], input.Stack[2])} mem={input.Memory[0]:x16} fcw={input.ControlWord:x4}\n"
                    + $"   host: fcw={fcwN:x4} fsw={fswN:x4} ftw={ftwN:x4} st0={Hex(Register(n, 0))} st1={Hex(Register(n, 1))} mem={n.Memory[0]:x16} rax={n.Rax:x} flags={n.RflagsOut & SseDifferential.ArithmeticFlags:x}\n"
                    + $"   ours: fcw={fcwE:x4} fsw={fswE:x4} ftw={ftwE:x4} st0={Hex(Register(e, 0))} st1={Hex(Register(e, 1))} mem={e.Memory[0]:x16} rax={e.Rax:x} flags={e.RflagsOut & SseDifferential.ArithmeticFlags:x}");
            }
        }

        Assert.True(failures.Count == 0, $"{name}: {failures.Count}+ of {inputs.Length} records differ\n{string.Join('\n', failures)}");
    }

    private static unsafe ushort Word(X87Record record, int offset) => (ushort)(record.Save[offset] | (record.Save[offset + 1] << 8));

    private static unsafe byte[] Register(X87Record record, int stackIndex)
    {
        var bytes = new byte[10];
        for (int i = 0; i < 10; i++)
        {
            bytes[i] = record.Save[28 + (stackIndex * 10) + i];
        }

        return bytes;
    }

    private static string Hex(byte[] register) => $"{BitConverter.ToUInt16(register, 8):x4}_{BitConverter.ToUInt64(register, 0):x16}";

    private static string Extended(ulong high, ulong low) => $"{(ushort)high:x4}_{low:x16}";
}
