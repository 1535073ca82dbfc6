using System.Runtime.InteropServices;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Vessel.X86.Tests.Differential;

/// <summary>
/// Runs one instruction on the host CPU: a stub loads RAX..R11 and RFLAGS from a <see cref="MachineState"/>, points R14
/// at its scratch memory, executes the instruction, and stores everything back. The stub keeps the SysV callee-saved
/// registers and leaves DF clear. The caller must not pass an instruction that faults natively (a #DE would kill the
/// test process).
/// </summary>
public sealed unsafe partial class NativeExecutor : IDisposable
{
    private const int CodeSize = 4096;
    private const int ProtRead = 1;
    private const int ProtWrite = 2;
    private const int ProtExec = 4;
    private const int MapPrivate = 0x02;
    private const int MapAnonymous = 0x20;

    private static readonly byte[] Prologue = Assemble(a =>
    {
        a.push(rbx);
        a.push(rbp);
        a.push(r12);
        a.push(r13);
        a.push(r14);
        a.push(r15);
        a.mov(r15, rdi);
        a.lea(r14, __[r15 + MachineState.MemoryOffset + MachineState.MemoryBias]);
        for (int i = 0; i < MachineState.RegisterCount; i++)
        {
            a.mov(new AssemblerRegister64(MachineState.Registers[i]), __qword_ptr[r15 + (i * 8)]);
        }

        a.push(__qword_ptr[r15 + MachineState.RflagsOffset]);
        a.popfq();
    });

    private static readonly byte[] Epilogue = Assemble(a =>
    {
        a.pushfq();
        a.pop(__qword_ptr[r15 + MachineState.RflagsOffset]);
        for (int i = 0; i < MachineState.RegisterCount; i++)
        {
            a.mov(__qword_ptr[r15 + (i * 8)], new AssemblerRegister64(MachineState.Registers[i]));
        }

        a.cld();
        a.pop(r15);
        a.pop(r14);
        a.pop(r13);
        a.pop(r12);
        a.pop(rbp);
        a.pop(rbx);
        a.ret();
    });

    private readonly byte* code;
    private readonly MachineState* block = (MachineState*)NativeMemory.AlignedAlloc((nuint)sizeof(MachineState), 64);

    public NativeExecutor()
    {
        code = (byte*)Mmap(0, CodeSize, ProtRead | ProtWrite | ProtExec, MapPrivate | MapAnonymous, -1, 0);
        if (code == (byte*)-1)
        {
            throw new InvalidOperationException($"mmap of executable memory failed (errno {Marshal.GetLastPInvokeError()})");
        }
    }

    /// <summary>True on x86-64 Linux, the only host the stub is written for.</summary>
    public static bool Supported => OperatingSystem.IsLinux() && RuntimeInformation.ProcessArchitecture == Architecture.X64;

    public void Execute(ReadOnlySpan<byte> instruction, ref MachineState state)
    {
        var stub = new Span<byte>(code, CodeSize);
        Prologue.CopyTo(stub);
        instruction.CopyTo(stub[Prologue.Length..]);
        Epilogue.CopyTo(stub[(Prologue.Length + instruction.Length)..]);

        // The block lives in aligned native memory so [R14] is 16-byte aligned, as CMPXCHG16B requires.
        *block = state;
        ((delegate* unmanaged<MachineState*, void>)code)(block);
        state = *block;
    }

    public void Dispose()
    {
        Munmap((nint)code, CodeSize);
        NativeMemory.AlignedFree(block);
    }

    private static byte[] Assemble(Action<Assembler> program)
    {
        var assembler = new Assembler(64);
        program(assembler);
        var stream = new MemoryStream();
        assembler.Assemble(new StreamCodeWriter(stream), 0);
        return stream.ToArray();
    }

    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    private static partial nint Mmap(nint address, nuint length, int protection, int flags, int fd, nint offset);

    [LibraryImport("libc", EntryPoint = "munmap")]
    private static partial int Munmap(nint address, nuint length);
}
