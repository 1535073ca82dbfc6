using Iced.Intel;
using Vessel.Core.Memory;
using Vessel.X86.Tests.Guests;
using static Iced.Intel.AssemblerRegisters;

namespace Vessel.X86.Tests.Jit;

/// <summary>
/// The compiling tier against the interpreter: the same code in both, every block compiled on one side, the
/// architectural state compared after every block (<see cref="TierPair"/>).
/// </summary>
public class CompilingTierDifferentialTests
{
    public static TheoryData<int> Seeds() => [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Random_integer_code_leaves_the_same_state_after_every_block(int seed)
    {
        using var pair = new TierPair((a, _) =>
        {
            RandomProgram.Emit(a, seed, length: 60, iterations: 20, LongModeGuest.DataAddress);
            LongModeGuest.EmitExit(a, 7);
        });

        int blocks = pair.RunToExit();

        Assert.Equal(7u, pair.Compiled.Io.ExitValue);
        Assert.True(blocks > 20, $"only {blocks} blocks ran");
        Assert.True(pair.Compiled.Cpu.CompiledBlockRuns > 0, "no block ran compiled");
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Random_integer_code_run_in_chains_of_linked_blocks_leaves_the_same_state(int seed)
    {
        using var pair = new TierPair((a, _) =>
        {
            RandomProgram.Emit(a, seed, length: 60, iterations: 20, LongModeGuest.DataAddress);
            LongModeGuest.EmitExit(a, 7);
        });

        int steps = pair.RunToExit(instructionsPerStep: 97);

        Assert.Equal(7u, pair.Compiled.Io.ExitValue);
        Assert.True(steps > 2, $"only {steps} steps ran");
        Assert.True(pair.Compiled.Cpu.CompiledBlockRuns > 0, "no block ran compiled");
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Random_integer_code_run_in_compiled_regions_leaves_the_same_state(int seed)
    {
        using var pair = new TierPair(
            (a, _) =>
            {
                RandomProgram.Emit(a, seed, length: 60, iterations: 20, LongModeGuest.DataAddress);
                LongModeGuest.EmitExit(a, 7);
            },
            compileThreshold: 2);

        int steps = pair.RunToExit(instructionsPerStep: 97);

        Assert.Equal(7u, pair.Compiled.Io.ExitValue);
        Assert.True(steps > 2, $"only {steps} steps ran");
        Assert.True(pair.Compiled.Cpu.CompiledRegionRuns > 0, "no region of several blocks ran");
    }

    [Fact]
    public void A_sieve_with_calls_and_string_copies_leaves_the_same_state_after_every_block()
    {
        using var pair = new TierPair((a, _) =>
        {
            var outer = a.CreateLabel();
            var inner = a.CreateLabel();
            var next = a.CreateLabel();
            var count = a.CreateLabel();
            var counted = a.CreateLabel();
            var square = a.CreateLabel();
            const int limit = 2000;

            // Sieve of Eratosthenes over bytes at the data page; composite bytes are set to 1.
            a.mov(rdi, LongModeGuest.DataAddress);
            a.mov(ecx, 2);
            a.Label(ref outer);
            a.mov(eax, ecx);
            a.call(square);
            a.cmp(eax, limit);
            a.ja(next);
            a.Label(ref inner);
            a.mov(__byte_ptr[rdi + rax], 1);
            a.add(eax, ecx);
            a.cmp(eax, limit);
            a.jbe(inner);
            a.inc(ecx);
            a.jmp(outer);

            // Count the primes into RBX, then copy the table with REP MOVSB and check a word of it.
            a.Label(ref next);
            a.xor(ebx, ebx);
            a.mov(ecx, 2);
            a.Label(ref count);
            a.movzx(edx, __byte_ptr[rdi + rcx]);
            a.xor(edx, 1);
            a.add(ebx, edx);
            a.inc(ecx);
            a.cmp(ecx, limit);
            a.jbe(count);
            a.Label(ref counted);
            a.lea(rsi, __[rdi]);
            a.lea(rdi, __[rdi + 4096]);
            a.mov(ecx, 1024);
            a.rep.movsb();
            a.mov(rax, __qword_ptr[rdi - 1024]);
            LongModeGuest.EmitExit(a, 7);

            a.Label(ref square);
            a.push(rdx);
            a.imul(eax, eax);
            a.pop(rdx);
            a.ret();
        });

        pair.RunToExit();

        Assert.Equal(303ul, pair.Compiled.Cpu.Register(3));
    }

    [Fact]
    public void Indirect_calls_and_jumps_and_returns_that_release_arguments_leave_the_same_state_after_every_block()
    {
        using var pair = new TierPair((a, _) =>
        {
            var loop = a.CreateLabel();
            var callee = a.CreateLabel();
            var landing = a.CreateLabel();
            var done = a.CreateLabel();
            a.mov(r15d, 50);
            a.xor(ebx, ebx);
            a.Label(ref loop);
            a.lea(rax, __[callee]);
            a.push(r15);
            a.push(rbx);
            a.call(rax);
            a.lea(rcx, __[landing]);
            a.jmp(rcx);
            a.Label(ref landing);
            a.dec(r15d);
            a.jnz(loop);
            a.jmp(done);

            // callee(counter, rbx) on the stack: RBX += rbx + 3 * counter, then RET 16 releases both arguments.
            a.Label(ref callee);
            a.mov(rdx, __qword_ptr[rsp + 8]);
            a.lea(rbx, __[rbx + rdx]);
            a.mov(rdx, __qword_ptr[rsp + 16]);
            a.lea(rdx, __[rdx + rdx * 2]);
            a.add(rbx, rdx);
            a.ret(16);
            a.Label(ref done);
            LongModeGuest.EmitExit(a, 7);
        });

        pair.RunToExit();

        ulong expected = 0;
        for (ulong x = 50; x >= 1; x--)
        {
            expected = (2 * expected) + (3 * x);
        }

        Assert.Equal(expected, pair.Compiled.Cpu.Register(3));
    }

    [Fact]
    public void A_page_fault_in_the_middle_of_a_compiled_block_leaves_the_interpreters_state()
    {
        const ulong unmapped = 0x4000_0000;
        var faulting = default(Label);
        using var pair = new TierPair((a, _) =>
        {
            var resume = a.CreateLabel();
            var loop = a.CreateLabel();
            faulting = a.CreateLabel();
            a.xor(r8d, r8d);
            a.mov(r15d, 3);
            a.Label(ref loop);

            // The recording stub returns to the resume address, past the faulting load (RIP-relative LEA).
            a.lea(r9, __[resume]);
            a.mov(__qword_ptr[LongModeGuest.ResumeAddressSlot], r9);
            a.mov(ecx, 5);
            a.lea(rdx, __[rcx + rcx * 2]);
            a.add(rdx, 1);
            a.mov(rsi, unmapped);
            a.sub(rcx, 9);
            a.Label(ref faulting);
            a.mov(rbx, __qword_ptr[rsi + 8]);
            a.inc(r8);
            a.Label(ref resume);
            a.dec(r15d);
            a.jnz(loop);
            LongModeGuest.EmitExit(a, 7);
        });

        pair.RunToExit();

        var memory = pair.Compiled.Memory;
        ulong Log(int offset) => memory.Read<ulong>(new GuestAddress(LongModeGuest.ExceptionLogAddress + (ulong)offset));
        Assert.Equal(14ul, Log(0));
        Assert.Equal(unmapped + 8, Log(16));
        Assert.Equal(pair.Compiled.AddressOf(faulting), Log(24));
        Assert.Equal(3ul, Log(32));
        Assert.Equal(0ul, pair.Compiled.Cpu.Register(8));
    }

    [Fact]
    public void A_page_fault_in_a_called_member_of_a_region_leaves_the_interpreters_state()
    {
        // A loop calls a function that pushes, changes the registers a region holds in locals (RBX, RSP, the loop's
        // counters) and loads through RSI; at one iteration RSI points at an unmapped page, so the load faults after many
        // runs of the region: the state written back for the fault must be the interpreter's.
        const ulong unmappedOffset = 0x4000_0000;
        var faulting = default(Label);
        using var pair = new TierPair(
            (a, _) =>
            {
                var loop = a.CreateLabel();
                var function = a.CreateLabel();
                var done = a.CreateLabel();
                faulting = a.CreateLabel();
                a.lea(r9, __[done]);
                a.mov(__qword_ptr[LongModeGuest.ResumeAddressSlot], r9);
                a.mov(rdi, LongModeGuest.DataAddress);
                a.mov(r15d, 400);
                a.mov(ebx, 1);
                a.Label(ref loop);
                a.xor(eax, eax);
                a.cmp(r15d, 5);
                a.mov(edx, (uint)unmappedOffset);
                a.cmove(eax, edx);
                a.lea(rsi, __[rdi + rax]);
                a.call(function);
                a.dec(r15d);
                a.jnz(loop);
                a.Label(ref done);
                LongModeGuest.EmitExit(a, 7);

                a.Label(ref function);
                a.push(rbx);
                a.add(rbx, r15);
                a.imul(rbx, rbx, 3);
                a.Label(ref faulting);
                a.mov(rcx, __qword_ptr[rsi + 8]);
                a.add(rcx, rbx);
                a.mov(__qword_ptr[rdi + 16], rcx);
                a.pop(rbx);
                a.add(bl, 1);
                a.ret();
            },
            compileThreshold: 2);

        pair.RunToExit(instructionsPerStep: 97);

        var memory = pair.Compiled.Memory;
        ulong Log(int offset) => memory.Read<ulong>(new GuestAddress(LongModeGuest.ExceptionLogAddress + (ulong)offset));
        Assert.Equal(7u, pair.Compiled.Io.ExitValue);
        Assert.Equal(14ul, Log(0));
        Assert.Equal(LongModeGuest.DataAddress + unmappedOffset + 8, Log(16));
        Assert.Equal(pair.Compiled.AddressOf(faulting), Log(24));
        Assert.Equal(5ul, pair.Compiled.Cpu.Register(15));
        Assert.True(pair.Compiled.Cpu.CompiledRegionRuns > 0, "no region of several blocks ran");
    }

    [Fact]
    public void Carry_handed_from_one_member_to_the_next_leaves_the_same_state()
    {
        // INC keeps CF. After the call, the only way in is the function's CMP; RET: the compiler knows that record and
        // reads CF from it. The join below is entered after an ADD (carrying now and then) on one path and a 32-bit SUB
        // (borrowing whenever R15 is above 5) on the other, so there the record is known only at run time. SETC and ADC
        // make every carry visible in the registers compared.
        using var pair = new TierPair(
            (a, _) =>
            {
                var loop = a.CreateLabel();
                var other = a.CreateLabel();
                var common = a.CreateLabel();
                var function = a.CreateLabel();
                var done = a.CreateLabel();
                a.mov(r15d, 300);
                a.mov(rbx, 0x0000_0000_0000_0400UL);
                a.xor(r8d, r8d);
                a.xor(r9d, r9d);
                a.xor(r11d, r11d);
                a.xor(r12d, r12d);
                a.xor(r13d, r13d);
                a.mov(r14, 0x9000_0000_0000_0001UL);
                a.Label(ref loop);
                a.mov(eax, r15d);
                a.and(eax, 3);
                a.jz(other);
                a.call(function);
                a.inc(r8);
                a.setc(cl);
                a.movzx(ecx, cl);
                a.add(r9, rcx);
                a.add(r13, r14);
                a.jmp(common);
                a.Label(ref other);
                a.mov(r10d, 5);
                a.sub(r10d, r15d);
                a.jmp(common);
                a.Label(ref common);
                a.inc(r11);
                a.setc(dl);
                a.movzx(edx, dl);
                a.adc(r12, rdx);
                a.dec(r15d);
                a.jnz(loop);
                a.jmp(done);

                a.Label(ref function);
                a.mov(rdx, r15);
                a.imul(rdx, rdx, 7);
                a.cmp(rdx, rbx);
                a.ret();

                a.Label(ref done);
                LongModeGuest.EmitExit(a, 7);
            },
            compileThreshold: 2);

        pair.RunToExit(instructionsPerStep: 97);

        Assert.Equal(7u, pair.Compiled.Io.ExitValue);
        Assert.True(pair.Compiled.Cpu.CompiledRegionRuns > 0, "no region of several blocks ran");

        // CMP RDX, RBX sets CF while 7 * R15 < 0x400, at R15 = 146 and below: 110 of the 225 calls (R15 not a multiple of 4).
        Assert.Equal(110ul, pair.Compiled.Cpu.Register(9));
    }

    [Fact]
    public void A_member_entered_after_different_flag_records_reads_the_carry_of_the_one_that_ran()
    {
        // The loop head branches to two members that each end with a jump to the same join, one after an ADD (carrying
        // now and then), one after a 32-bit SUB (borrowing whenever R15 is above 5); the join's ADC reads CF first.
        // Both ways in are compiled before the join, and they leave different records, so the join may not assume either.
        using var pair = new TierPair(
            (a, _) =>
            {
                var loop = a.CreateLabel();
                var odd = a.CreateLabel();
                var join = a.CreateLabel();
                a.mov(r15d, 300);
                a.xor(r12d, r12d);
                a.xor(r13d, r13d);
                a.mov(r14, 0x9000_0000_0000_0001UL);
                a.Label(ref loop);
                a.mov(eax, r15d);
                a.and(eax, 1);
                a.jz(odd);
                a.mov(r10d, 5);
                a.sub(r10d, r15d);
                a.jmp(join);
                a.Label(ref odd);
                a.add(r13, r14);
                a.jmp(join);
                a.Label(ref join);
                a.adc(r12, 0);
                a.dec(r15d);
                a.jnz(loop);
                LongModeGuest.EmitExit(a, 7);
            },
            compileThreshold: 2);

        pair.RunToExit(instructionsPerStep: 97);

        Assert.Equal(7u, pair.Compiled.Io.ExitValue);
        Assert.True(pair.Compiled.Cpu.CompiledRegionRuns > 0, "no region of several blocks ran");

        // The carries counted on the host: a borrow for odd R15 above 5, the ADD's carry for even R15.
        ulong carries = 0;
        ulong sum = 0;
        for (uint r15 = 300; r15 > 0; r15--)
        {
            if ((r15 & 1) != 0)
            {
                carries += r15 > 5 ? 1ul : 0;
            }
            else
            {
                ulong before = sum;
                sum += 0x9000_0000_0000_0001UL;
                carries += sum < before ? 1ul : 0;
            }
        }

        Assert.Equal(carries, pair.Compiled.Cpu.Register(12));
    }

    [Fact]
    public void Conditional_jumps_right_after_inc_and_dec_at_every_width_and_edge_leave_the_same_state()
    {
        // JZ and JS read the INC/DEC record inline; JB (CF carried over from STC/CLC) and JL (OF) ask Cpu.Condition.
        int[] widths = [8, 16, 32, 64];
        int[] conditions = [4, 8, 2, 0xC];
        ulong expected = 0;
        using var pair = new TierPair((a, _) =>
        {
            // TierPair assembles the program once for each side.
            expected = 0;
            a.xor(ebx, ebx);
            int index = 0;
            foreach (int bits in widths)
            {
                ulong mask = bits == 64 ? ulong.MaxValue : (1UL << bits) - 1;
                ulong signBit = 1UL << (bits - 1);
                foreach (ulong value in new[] { 0UL, 1UL, signBit - 1, signBit, mask })
                {
                    foreach (bool increment in new[] { true, false })
                    {
                        foreach (int condition in conditions)
                        {
                            bool carry = index % 3 == 0;
                            ulong result = (increment ? value + 1 : value - 1) & mask;
                            bool zero = result == 0;
                            bool sign = (result & signBit) != 0;
                            bool overflow = increment ? result == signBit : value == signBit;
                            bool taken = condition switch
                            {
                                4 => zero,
                                8 => sign,
                                2 => carry,
                                _ => sign != overflow,
                            };
                            if (!taken)
                            {
                                expected += (ulong)index + 1;
                            }

                            var skip = a.CreateLabel();
                            EmitIncDec(a, bits, value, increment, carry);
                            switch (condition)
                            {
                                case 4: a.jz(skip); break;
                                case 8: a.js(skip); break;
                                case 2: a.jb(skip); break;
                                default: a.jl(skip); break;
                            }

                            a.add(rbx, index + 1);
                            a.Label(ref skip);
                            index++;
                        }
                    }
                }
            }

            LongModeGuest.EmitExit(a, 7);
        });

        pair.RunToExit();

        Assert.Equal(7u, pair.Compiled.Io.ExitValue);
        Assert.Equal(expected, pair.Compiled.Cpu.Register(3));
        Assert.True(pair.Compiled.Cpu.CompiledBlockRuns > 0, "no block ran compiled");
    }

    private static void EmitIncDec(Assembler a, int bits, ulong value, bool increment, bool carry)
    {
        if (carry)
        {
            a.stc();
        }
        else
        {
            a.clc();
        }

        switch (bits)
        {
            case 8:
                a.mov(al, (byte)value);
                if (increment) { a.inc(al); } else { a.dec(al); }
                break;
            case 16:
                a.mov(cx, (ushort)value);
                if (increment) { a.inc(cx); } else { a.dec(cx); }
                break;
            case 32:
                a.mov(edx, (uint)value);
                if (increment) { a.inc(edx); } else { a.dec(edx); }
                break;
            default:
                a.mov(r9, value);
                if (increment) { a.inc(r9); } else { a.dec(r9); }
                break;
        }
    }
}
