using System.Runtime.InteropServices;
using Iced.Intel;
using Vessel.Core.Memory;
using Vessel.X86.Cpu;
using Vessel.X86.Tests.Guests;
using static Iced.Intel.AssemblerRegisters;

namespace Vessel.X86.Tests.Sse;

/// <summary>
/// Runs one instruction over many input records on the host CPU and in a 64-bit guest on our CPU, and reports every
/// record whose registers, MXCSR or arithmetic flags differ, bit for bit.
/// </summary>
public static class SseDifferential
{
    /// <summary>CF, PF, AF, ZF, SF, OF: what the instructions under test may change.</summary>
    public const ulong ArithmeticFlags = 0x8D5;

    public static byte[] Encode(Instruction instruction)
    {
        var stream = new MemoryStream();
        var encoder = Encoder.Create(64, new StreamCodeWriter(stream));
        encoder.Encode(instruction, 0);
        return stream.ToArray();
    }

    /// <summary>Runs on the host over a 64-byte aligned copy of the records, so aligned memory operands stay aligned.</summary>
    public static unsafe SseRecord[] RunNative(byte[] instruction, SseRecord[] inputs)
    {
        var results = (SseRecord[])inputs.Clone();
        var buffer = (SseRecord*)NativeMemory.AlignedAlloc((nuint)(sizeof(SseRecord) * results.Length), 64);
        try
        {
            results.AsSpan().CopyTo(new Span<SseRecord>(buffer, results.Length));
            using var executor = new NativeSseExecutor(instruction);
            for (int i = 0; i < results.Length; i++)
            {
                executor.Run(buffer + i);
            }

            new Span<SseRecord>(buffer, results.Length).CopyTo(results);
        }
        finally
        {
            NativeMemory.AlignedFree(buffer);
        }

        return results;
    }

    public static SseRecord[] RunEmulated(byte[] instruction, SseRecord[] inputs)
    {
        using var guest = new LongModeGuest(a =>
        {
            var loop = a.CreateLabel();
            a.mov(rsi, LongModeGuest.DataAddress);
            a.mov(r8d, inputs.Length);
            a.Label(ref loop);
            NativeSseExecutor.EmitRecordBody(a, instruction);
            a.add(rsi, SseRecord.Size);
            a.dec(r8d);
            a.jnz(loop);
            LongModeGuest.EmitExit(a, 0);
        });
        guest.Cpu.TryWriteCr4(guest.Cpu.Cr4 | (ulong)(ControlRegister4.OsFxsr | ControlRegister4.OsXmmExceptions));
        var bytes = MemoryMarshal.AsBytes(inputs.AsSpan());
        guest.Memory.WriteBytes(new GuestAddress(LongModeGuest.DataAddress), bytes);
        guest.Run();
        Assert.Equal(0u, guest.Io.ExitValue);
        var results = new SseRecord[inputs.Length];
        guest.Memory.ReadBytes(new GuestAddress(LongModeGuest.DataAddress), MemoryMarshal.AsBytes(results.AsSpan()));
        return results;
    }

    /// <summary>Asserts that host and guest agree on every record; lists the first few differences.</summary>
    public static unsafe void AssertSame(string name, byte[] instruction, SseRecord[] inputs, Func<int, ulong, ulong, bool>? laneTolerance = null)
    {
        var native = RunNative(instruction, inputs);
        var emulated = RunEmulated(instruction, inputs);
        var failures = new List<string>();
        for (int i = 0; i < inputs.Length && failures.Count < 8; i++)
        {
            var n = native[i];
            var e = emulated[i];
            var input = inputs[i];
            bool same = n.MxcsrOut == e.MxcsrOut && (n.RflagsOut & ArithmeticFlags) == (e.RflagsOut & ArithmeticFlags)
                && n.Rax == e.Rax && n.Rcx == e.Rcx && n.Rdx == e.Rdx && n.Mm[0] == e.Mm[0] && n.Mm[1] == e.Mm[1]
                && n.Memory[0] == e.Memory[0] && n.Memory[1] == e.Memory[1];
            for (int q = 0; q < 8; q++)
            {
                if (n.Xmm[q] != e.Xmm[q] && !(laneTolerance?.Invoke(q, n.Xmm[q], e.Xmm[q]) ?? false))
                {
                    same = false;
                }
            }

            if (!same)
            {
                failures.Add(
                    $"#{i} in: xmm0={Hex(input, 0)} xmm1={Hex(input, 2)} mm0={input.Mm[0]:x16} mm1={input.Mm[1]:x16} rax={input.Rax:x} rcx={input.Rcx:x} mxcsr={input.MxcsrIn:x4}\n"
                    + $"   host: xmm0={Hex(n, 0)} xmm1={Hex(n, 2)} mm0={n.Mm[0]:x16} rax={n.Rax:x} rcx={n.Rcx:x} mxcsr={n.MxcsrOut:x4} flags={n.RflagsOut & ArithmeticFlags:x}\n"
                    + $"   ours: xmm0={Hex(e, 0)} xmm1={Hex(e, 2)} mm0={e.Mm[0]:x16} rax={e.Rax:x} rcx={e.Rcx:x} mxcsr={e.MxcsrOut:x4} flags={e.RflagsOut & ArithmeticFlags:x}\n"
                    + $"   memory in/host/ours: {input.Memory[1]:x16}_{input.Memory[0]:x16} / {n.Memory[1]:x16}_{n.Memory[0]:x16} / {e.Memory[1]:x16}_{e.Memory[0]:x16}");
            }
        }

        Assert.True(failures.Count == 0, $"{name}: {failures.Count}+ of {inputs.Length} records differ\n{string.Join('\n', failures)}");
    }

    private static unsafe string Hex(SseRecord record, int quadword) => $"{record.Xmm[quadword + 1]:x16}_{record.Xmm[quadword]:x16}";
}
