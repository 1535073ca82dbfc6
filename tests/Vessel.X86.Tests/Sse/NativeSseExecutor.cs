using System.Runtime.InteropServices;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Vessel.X86.Tests.Sse;

/// <summary>
/// Runs one instruction on the host CPU, the oracle for the differential tests: a stub in an mmap'd executable page
/// loads XMM0-3, MM0-1, RAX, RCX, RDX, RFLAGS and MXCSR from a <see cref="SseRecord"/>, runs the instruction, and stores
/// them back. The same stub body runs in the guest (see <see cref="EmitRecordBody"/>), so both sides execute the same
/// bytes around the instruction under test. Exceptions are always masked in the records, so the host never faults.
/// </summary>
public sealed unsafe partial class NativeSseExecutor : IDisposable
{
    private const int ProtectionRead = 1;
    private const int ProtectionWrite = 2;
    private const int ProtectionExecute = 4;
    private const int MapPrivate = 0x02;
    private const int MapAnonymous = 0x20;
    private const int PageBytes = 4096;

    private readonly byte* page;

    public NativeSseExecutor(byte[] instruction)
        : this(a => EmitRecordBody(a, instruction))
    {
    }

    /// <summary>A stub around any record body that addresses its record through RSI.</summary>
    public NativeSseExecutor(Action<Assembler> body)
    {
        var assembler = new Assembler(64);
        assembler.push(rbx);
        assembler.push(rsi);
        assembler.push(r8);
        assembler.mov(rsi, rdi);
        assembler.sub(rsp, 8);
        assembler.stmxcsr(__dword_ptr[rsp]);
        body(assembler);
        assembler.ldmxcsr(__dword_ptr[rsp]);
        assembler.emms();
        assembler.cld();
        assembler.add(rsp, 8);
        assembler.pop(r8);
        assembler.pop(rsi);
        assembler.pop(rbx);
        assembler.ret();
        var stream = new MemoryStream();
        assembler.Assemble(new StreamCodeWriter(stream), 0);
        byte[] code = stream.ToArray();

        page = (byte*)Mmap(0, PageBytes, ProtectionRead | ProtectionWrite, MapPrivate | MapAnonymous, -1, 0);
        if ((nint)page == -1)
        {
            throw new InvalidOperationException($"mmap of an executable page failed (errno {Marshal.GetLastPInvokeError()})");
        }

        code.CopyTo(new Span<byte>(page, PageBytes));
        if (Mprotect((nint)page, PageBytes, ProtectionRead | ProtectionExecute) != 0)
        {
            throw new InvalidOperationException($"mprotect to read+execute failed (errno {Marshal.GetLastPInvokeError()})");
        }
    }

    /// <summary>Loads the record at RSI, runs <paramref name="instruction"/>, stores the results into the record.</summary>
    public static void EmitRecordBody(Assembler a, byte[] instruction)
    {
        a.movdqu(xmm0, __xmmword_ptr[rsi + SseRecord.Xmm0Offset]);
        a.movdqu(xmm1, __xmmword_ptr[rsi + SseRecord.Xmm0Offset + 16]);
        a.movdqu(xmm2, __xmmword_ptr[rsi + SseRecord.Xmm0Offset + 32]);
        a.movdqu(xmm3, __xmmword_ptr[rsi + SseRecord.Xmm0Offset + 48]);
        a.movq(mm0, __qword_ptr[rsi + SseRecord.Mm0Offset]);
        a.movq(mm1, __qword_ptr[rsi + SseRecord.Mm0Offset + 8]);
        a.mov(rax, __qword_ptr[rsi + SseRecord.RaxOffset]);
        a.mov(rcx, __qword_ptr[rsi + SseRecord.RcxOffset]);
        a.mov(rdx, __qword_ptr[rsi + SseRecord.RdxOffset]);
        a.ldmxcsr(__dword_ptr[rsi + SseRecord.MxcsrInOffset]);
        a.push(__qword_ptr[rsi + SseRecord.RflagsInOffset]);
        a.popfq();
        a.db(instruction);
        a.pushfq();
        a.pop(rbx);
        a.mov(__qword_ptr[rsi + SseRecord.RflagsOutOffset], rbx);
        a.stmxcsr(__dword_ptr[rsi + SseRecord.MxcsrOutOffset]);
        a.movdqu(__xmmword_ptr[rsi + SseRecord.Xmm0Offset], xmm0);
        a.movdqu(__xmmword_ptr[rsi + SseRecord.Xmm0Offset + 16], xmm1);
        a.movdqu(__xmmword_ptr[rsi + SseRecord.Xmm0Offset + 32], xmm2);
        a.movdqu(__xmmword_ptr[rsi + SseRecord.Xmm0Offset + 48], xmm3);
        a.movq(__qword_ptr[rsi + SseRecord.Mm0Offset], mm0);
        a.movq(__qword_ptr[rsi + SseRecord.Mm0Offset + 8], mm1);
        a.mov(__qword_ptr[rsi + SseRecord.RaxOffset], rax);
        a.mov(__qword_ptr[rsi + SseRecord.RcxOffset], rcx);
        a.mov(__qword_ptr[rsi + SseRecord.RdxOffset], rdx);
    }

    public void Run<TRecord>(ref TRecord record)
        where TRecord : unmanaged
    {
        var stub = (delegate* unmanaged<TRecord*, void>)page;
        fixed (TRecord* pointer = &record)
        {
            stub(pointer);
        }
    }

    /// <summary>Runs the stub with RSI pointing at <paramref name="buffer"/> (for records that need an alignment).</summary>
    public void Run(void* buffer) => ((delegate* unmanaged<void*, void>)page)(buffer);

    public void Dispose() => Munmap((nint)page, PageBytes);

    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    private static partial nint Mmap(nint address, nuint length, int protection, int flags, int descriptor, nint offset);

    [LibraryImport("libc", EntryPoint = "mprotect", SetLastError = true)]
    private static partial int Mprotect(nint address, nuint length, int protection);

    [LibraryImport("libc", EntryPoint = "munmap")]
    private static partial int Munmap(nint address, nuint length);
}
