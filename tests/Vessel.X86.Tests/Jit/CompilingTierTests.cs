using System.Diagnostics;
using Vessel.X86.Cpu.Jit;
using Vessel.X86.Tests.Guests;
using static Iced.Intel.AssemblerRegisters;

namespace Vessel.X86.Tests.Jit;

public class CompilingTierTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Compiled_code_is_dropped_when_the_guest_rewrites_the_page_it_came_from(bool asRegion)
    {
        // The function returns its MOV's immediate; half-way through, the loop patches that immediate once, so the
        // calls after it must see the new bytes, compiled or not. As a region, the loop, the call and the function are
        // one compiled method by then, and the patch (a store to its own page) must leave it.
        const int calls = 40;
        using var guest = new LongModeGuest(a =>
        {
            var function = a.CreateLabel();
            var loop = a.CreateLabel();
            var skip = a.CreateLabel();
            a.xor(ebx, ebx);
            a.mov(ecx, calls);
            a.Label(ref loop);
            a.call(function);
            a.add(ebx, eax);
            a.cmp(ecx, calls / 2);
            a.jne(skip);
            a.lea(rdx, __[function]);
            a.inc(__dword_ptr[rdx + 1]);
            a.Label(ref skip);
            a.dec(ecx);
            a.jnz(loop);
            LongModeGuest.EmitExit(a, 7);
            a.Label(ref function);
            a.mov(eax, 100);
            a.ret();
        });
        CompileEveryBlock(guest, asRegion);

        guest.Run();

        Assert.Equal(7u, guest.Io.ExitValue);
        Assert.Equal((ulong)((100 * ((calls / 2) + 1)) + (101 * ((calls / 2) - 1))), guest.Cpu.Register(3));
        Assert.True(guest.Cpu.CompiledBlockRuns > 0, "no block ran compiled");
        Assert.True(!asRegion || guest.Cpu.CompiledRegionRuns > 0, "no region ran");
    }

    /// <summary>
    /// Every block compiled before its first run, or (<paramref name="asRegion"/>) on the vCPU thread after its second,
    /// when the blocks it leads to are decoded, so loops form regions.
    /// </summary>
    private static void CompileEveryBlock(LongModeGuest guest, bool asRegion)
    {
        if (asRegion)
        {
            guest.Cpu.CompilingTier = CompilingTierMode.On;
            guest.Cpu.CompileThreshold = 2;
            guest.Cpu.CompileOnVcpuThread = true;
        }
        else
        {
            guest.Cpu.CompilingTier = CompilingTierMode.Always;
        }
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void A_linked_successor_is_not_followed_once_its_page_is_mapped_elsewhere(bool reloadCr3, bool asRegion)
    {
        // Linear 8 MiB is a 2 MiB page the loop flips between two physical pages whose functions return 1 and 2, then
        // drops the old translation (INVLPG, or a CR3 reload): the caller's block, linked to the function it called
        // last time, must call the function that is mapped now.
        const ulong function = 0x80_0000;
        const ulong first = 0x40_0000;
        const ulong second = 0x60_0000;
        using var guest = new LongModeGuest(a =>
        {
            var loop = a.CreateLabel();
            a.xor(ebx, ebx);
            a.mov(ecx, 30);
            a.mov(r8, function);
            a.mov(r9, LongModeGuest.PdAddress + ((function >> 21) * 8));
            a.Label(ref loop);
            a.call(r8);
            a.add(ebx, eax);
            a.xor(__qword_ptr[r9], (int)(first ^ second));
            if (reloadCr3)
            {
                a.mov(rax, cr3);
                a.mov(cr3, rax);
            }
            else
            {
                a.invlpg(__[r8]);
            }

            a.dec(ecx);
            a.jnz(loop);
            LongModeGuest.EmitExit(a, 7);
        });
        guest.Memory.WriteBytes(new Vessel.Core.Memory.GuestAddress(first), [0xB8, 1, 0, 0, 0, 0xC3]);   // mov eax, 1; ret
        guest.Memory.WriteBytes(new Vessel.Core.Memory.GuestAddress(second), [0xB8, 2, 0, 0, 0, 0xC3]);  // mov eax, 2; ret
        guest.SetLargePage(function, first | 0x87);
        CompileEveryBlock(guest, asRegion);

        guest.Run();

        Assert.Equal(7u, guest.Io.ExitValue);
        Assert.Equal(45UL, guest.Cpu.Register(3));
        Assert.True(guest.Cpu.CompiledBlockRuns > 0, "no block ran compiled");
    }

    [Fact]
    public void Hot_blocks_are_compiled_in_the_background_and_then_run_compiled()
    {
        using var guest = new LongModeGuest(a =>
        {
            var loop = a.CreateLabel();
            a.Label(ref loop);
            a.add(rax, rcx);
            a.dec(ecx);
            a.jmp(loop);
        });
        guest.Cpu.CompilingTier = CompilingTierMode.On;
        guest.Cpu.CompileThreshold = 16;

        // The compiler thread gets to the block when the host lets it; keep the guest running until then.
        var waited = Stopwatch.StartNew();
        while (guest.Cpu.CompiledBlockRuns == 0 && waited.Elapsed < TimeSpan.FromSeconds(60))
        {
            guest.Cpu.Run(100_000);
        }

        Assert.True(guest.Cpu.CompiledBlockRuns > 0, $"the loop never ran compiled in {waited.Elapsed.TotalSeconds:F0} s");
    }

    [Fact]
    public void A_block_the_background_compiler_fails_on_stays_with_the_interpreter_and_the_process_goes_on()
    {
        // A block without instructions cannot be compiled (the compiler reads its last instruction): the exception is
        // the compiler's, on its own thread, and must neither end the process nor install code.
        var compiler = BackgroundCompiler.Shared;
        long failedBefore = compiler.FailedCompilations;
        var broken = new Cpu.Decoding.DecodedBlock(0x1000, 64, [], 0, 0);
        var waited = Stopwatch.StartNew();
        while (!compiler.TryEnqueue([new RegionMember(broken, 0)]) && waited.Elapsed < TimeSpan.FromSeconds(30))
        {
            // The time budget is shared with every other test in this process: ask again until it has room.
            Thread.Sleep(50);
        }

        while (compiler.FailedCompilations == failedBefore && waited.Elapsed < TimeSpan.FromSeconds(60))
        {
            Thread.Sleep(10);
        }

        Assert.True(compiler.FailedCompilations > failedBefore, "the broken block was never taken up by the compiler");
        Assert.False(broken.IsCompiled);
        Assert.Contains("failed", compiler.Describe());
    }

    [Fact]
    public void With_the_tier_off_no_block_runs_compiled()
    {
        using var guest = new LongModeGuest(a =>
        {
            var loop = a.CreateLabel();
            a.mov(ecx, 10_000);
            a.Label(ref loop);
            a.dec(ecx);
            a.jnz(loop);
            LongModeGuest.EmitExit(a, 7);
        });
        guest.Cpu.CompilingTier = CompilingTierMode.Off;

        guest.Run();

        Assert.Equal(7u, guest.Io.ExitValue);
        Assert.Equal(0ul, guest.Cpu.CompiledBlockRuns);
    }

    [Fact]
    public void Single_step_runs_the_same_instructions_with_every_block_compiled()
    {
        // TF set by POPF: the compiled tier must leave single-stepping to the interpreter's checked path, trap for trap.
        using var pair = new TierPair((a, routes) =>
        {
            var handler = a.CreateLabel();
            var done = a.CreateLabel();
            a.mov(al, 0xFF);
            a.@out(0x21, al);
            a.@out(0xA1, al);
            a.xor(ebx, ebx);
            a.pushfq();
            a.or(__qword_ptr[rsp], 0x100);
            a.popfq();
            a.mov(ecx, 3);
            a.add(ecx, 4);
            a.shl(ecx, 2);
            a.pushfq();
            a.and(__qword_ptr[rsp], ~0x100);
            a.popfq();
            a.jmp(done);
            a.Label(ref handler);
            routes.Route(1, handler);
            a.inc(ebx);
            a.iretq();
            a.Label(ref done);
            LongModeGuest.EmitExit(a, 7);
        });

        pair.RunToExit();

        Assert.Equal(6ul, pair.Compiled.Cpu.Register(3));
    }

    [Theory]
    [InlineData("off", CompilingTierMode.Off)]
    [InlineData("ON", CompilingTierMode.On)]
    [InlineData(" always ", CompilingTierMode.Always)]
    public void A_mode_is_read_from_its_name(string value, CompilingTierMode expected)
    {
        Assert.Equal(expected, CompilingTierSettings.Parse(value, "test"));
    }

    [Fact]
    public void An_unknown_mode_is_refused_with_a_message_naming_the_choices()
    {
        var error = Assert.Throws<ArgumentException>(() => CompilingTierSettings.Parse("fast", "VESSEL_JIT"));
        Assert.Contains("VESSEL_JIT", error.Message, StringComparison.Ordinal);
        Assert.Contains("off, on or always", error.Message, StringComparison.Ordinal);
    }
}

public class BlockCompilerTests
{
    [Fact]
    public unsafe void The_common_integer_forms_are_translated_inline_rather_than_called()
    {
        var a = new Iced.Intel.Assembler(64);
        a.mov(rax, rbx);
        a.add(rax, 5);
        a.shl(rax, 3);
        a.rol(ecx, 7);
        a.imul(edx, ecx, 9);
        a.lea(rsi, __[rax + rdx * 2 + 8]);
        a.mov(__qword_ptr[rsi + 16], rax);
        a.mov(rdi, __qword_ptr[rsi]);
        a.push(rdi);
        a.pop(r8);
        a.dec(r8d);
        a.ret();
        var stream = new MemoryStream();
        a.Assemble(new Iced.Intel.StreamCodeWriter(stream), 0x1000);
        byte[] code = stream.ToArray();
        var decoder = new Vessel.X86.Cpu.Decoding.BlockDecoder(Vessel.X86.Cpu.Decoding.HandlerTable.Instance);
        fixed (byte* bytes = code)
        {
            var block = decoder.Decode(bytes, code.Length, 0x1000, 0x1000, 64, 0)!;

            BlockCompiler.Compile(block, out int inline);

            Assert.Equal(12, block.Count);
            Assert.Equal(block.Count, inline);
        }
    }

    [Fact]
    public void Extensions_memory_operands_conditional_moves_and_indirect_jumps_are_translated_inline()
    {
        var a = new Iced.Intel.Assembler(64);
        a.movzx(eax, __byte_ptr[rsi + 3]);
        a.movsx(rbx, __word_ptr[rsi + rcx * 2]);
        a.movzx(ecx, dh);
        a.movsxd(rdx, eax);
        a.add(rax, __qword_ptr[rsi]);
        a.cmp(__dword_ptr[rsi + 8], ebx);
        a.test(__byte_ptr[rsi], 1);
        a.sub(__qword_ptr[rsi + 16], rax);
        a.imul(rax, rbx);
        a.cmp(rax, rbx);
        a.cmovl(rax, rbx);
        a.setne(dl);
        a.jmp(rcx);
        Assert.Equal(13, CountInline(a, out int count));
        Assert.Equal(13, count);
    }

    private static unsafe int CountInline(Iced.Intel.Assembler a, out int count)
    {
        var stream = new MemoryStream();
        a.Assemble(new Iced.Intel.StreamCodeWriter(stream), 0x1000);
        byte[] code = stream.ToArray();
        var decoder = new Vessel.X86.Cpu.Decoding.BlockDecoder(Vessel.X86.Cpu.Decoding.HandlerTable.Instance);
        fixed (byte* bytes = code)
        {
            var block = decoder.Decode(bytes, code.Length, 0x1000, 0x1000, 64, 0)!;
            BlockCompiler.Compile(block, out int inline);
            count = block.Count;
            return inline;
        }
    }
}
