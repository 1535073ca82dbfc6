using Iced.Intel;
using Vessel.Core.Memory;
using Vessel.X86.Cpu;
using Vessel.X86.Tests.Guests;
using static Iced.Intel.AssemblerRegisters;

namespace Vessel.X86.Tests;

/// <summary>Where Intel and AMD differ on the fast system calls: SYSCALL from compatibility mode, SYSENTER/SYSEXIT in long mode.</summary>
public class VendorSystemCallTests
{
    private const ulong Report = LongModeGuest.DataAddress;
    private const string Amd = "Opteron_G1,vendor=AuthenticAMD";
    private const string Intel = "qemu64,vendor=GenuineIntel";

    private static ulong ReportSlot(LongModeGuest guest, int index) => guest.Memory.Read<ulong>(new GuestAddress(Report + ((ulong)index * 8)));

    /// <summary>
    /// Far-returns into the 32-bit code segment and runs "mov eax, 0x2A; syscall" there, with CSTAR pointing at a
    /// 64-bit entry that reports CS, RCX (the return address) and R11 (the flags) and exits with 5. Any other landing exits 9.
    /// </summary>
    private static LongModeGuest CompatibilitySyscallGuest(string cpu) => new((a, routes) =>
    {
        var compatibility = a.CreateLabel();
        var entry = a.CreateLabel();
        var longEntry = a.CreateLabel();
        var invalidOpcode = a.CreateLabel();

        a.mov(ecx, 0xC000_0081); // STAR: SYSCALL CS = 0x08
        a.xor(eax, eax);
        a.mov(edx, (int)LongModeGuest.KernelCode);
        a.wrmsr();
        a.mov(ecx, 0xC000_0083); // CSTAR
        a.lea(rax, __[entry]);
        a.xor(edx, edx);
        a.wrmsr();
        a.mov(ecx, 0xC000_0082); // LSTAR: must not be used from compatibility mode
        a.lea(rax, __[longEntry]);
        a.xor(edx, edx);
        a.wrmsr();
        a.push(LongModeGuest.CompatibilityCode);
        a.lea(rax, __[compatibility]);
        a.push(rax);
        a.db(0x48, 0xCB); // RETFQ

        a.Label(ref compatibility);
        a.db(0xB8, 0x2A, 0x00, 0x00, 0x00, 0x0F, 0x05); // 32-bit: mov eax, 0x2A; syscall

        a.Label(ref entry);
        a.mov(bx, cs);
        a.movzx(ebx, bx);
        a.mov(__qword_ptr[Report], rbx);
        a.mov(__qword_ptr[Report + 8], rcx);
        a.mov(__qword_ptr[Report + 16], rax);
        LongModeGuest.EmitExit(a, 5);

        a.Label(ref longEntry);
        LongModeGuest.EmitExit(a, 9);

        a.Label(ref invalidOpcode);
        routes.Route(6, invalidOpcode);
        a.mov(__qword_ptr[Report + 24], 6);
        LongModeGuest.EmitExit(a, 6);
    }, cpu: cpu);

    [Fact]
    public void Amd_syscall_from_compatibility_mode_enters_64_bit_code_at_cstar()
    {
        using var guest = CompatibilitySyscallGuest(Amd);

        guest.Run();

        Assert.Equal(5u, guest.Io.ExitValue);
        Assert.Equal((ulong)LongModeGuest.KernelCode, ReportSlot(guest, 0));
        Assert.Equal(0x2Aul, ReportSlot(guest, 2));
        Assert.Equal(0x0F, guest.Memory.Read<byte>(new GuestAddress(ReportSlot(guest, 1) - 2)));
        Assert.Equal(64, guest.Cpu.CodeBits);
    }

    [Fact]
    public void Intel_syscall_from_compatibility_mode_raises_invalid_opcode()
    {
        using var guest = CompatibilitySyscallGuest(Intel);

        guest.Run();

        Assert.Equal(6u, guest.Io.ExitValue);
    }

    [Fact]
    public void Default_cpu_is_intel_and_raises_invalid_opcode_for_syscall_in_compatibility_mode()
    {
        using var guest = CompatibilitySyscallGuest("max");

        guest.Run();

        Assert.False(guest.Cpu.Cpuid.IsAmd);
        Assert.Equal(6u, guest.Io.ExitValue);
    }

    [Theory]
    [InlineData(Amd, 6)]
    [InlineData(Intel, 5)]
    public void Sysenter_in_64_bit_mode_is_invalid_on_amd_and_runs_on_intel(string cpu, int expectedExit)
    {
        using var guest = new LongModeGuest((a, routes) =>
        {
            var entry = a.CreateLabel();
            var invalidOpcode = a.CreateLabel();

            a.mov(ecx, 0x174); // IA32_SYSENTER_CS
            a.mov(eax, (int)LongModeGuest.KernelCode);
            a.xor(edx, edx);
            a.wrmsr();
            a.mov(ecx, 0x175); // IA32_SYSENTER_ESP
            a.mov(eax, (int)LongModeGuest.StackTop);
            a.wrmsr();
            a.mov(ecx, 0x176); // IA32_SYSENTER_EIP
            a.lea(rax, __[entry]);
            a.wrmsr();
            a.sysenter();

            a.Label(ref entry);
            LongModeGuest.EmitExit(a, 5);

            a.Label(ref invalidOpcode);
            routes.Route(6, invalidOpcode);
            LongModeGuest.EmitExit(a, 6);
        }, cpu: cpu);

        guest.Run();

        Assert.Equal((uint)expectedExit, guest.Io.ExitValue);
    }

    [Fact]
    public void Amd_model_reports_its_vendor_family_and_mirrored_extended_features()
    {
        using var guest = new LongModeGuest(a => LongModeGuest.EmitExit(a, 1), cpu: Amd);
        var cpuid = guest.Cpu.Cpuid;

        var (_, ebx, ecx, edx) = cpuid.Query(0, 0, guest.Cpu);
        var (signature, _, _, leaf1Edx) = cpuid.Query(1, 0, guest.Cpu);
        var (_, _, _, extendedEdx) = cpuid.Query(0x8000_0001, 0, guest.Cpu);

        Assert.Equal("AuthenticAMD", Vendor(ebx, edx, ecx));
        Assert.True(cpuid.IsAmd);
        Assert.Equal(15u, (signature >> 8) & 0xF);
        Assert.Equal(6u, (signature >> 4) & 0xF);
        Assert.Equal(leaf1Edx & CpuidTemplate.AmdMirroredLeaf1Edx, extendedEdx & CpuidTemplate.AmdMirroredLeaf1Edx);
        Assert.NotEqual(0u, extendedEdx & (uint)CpuidFeatures1Edx.FloatingPointUnit);
    }

    [Fact]
    public void Intel_default_does_not_mirror_leaf_1_features_into_the_extended_leaf()
    {
        using var guest = new LongModeGuest(a => LongModeGuest.EmitExit(a, 1));
        var (_, _, _, extendedEdx) = guest.Cpu.Cpuid.Query(0x8000_0001, 0, guest.Cpu);

        Assert.Equal(0u, extendedEdx & (uint)CpuidFeatures1Edx.FloatingPointUnit);
        Assert.Equal(CpuidTemplate.Default.ExtendedLeaf1Edx, extendedEdx);
    }

    [Fact]
    public void Amd_legacy_performance_counters_exist_only_on_amd()
    {
        using var amd = new LongModeGuest(a => LongModeGuest.EmitExit(a, 1), cpu: Amd);
        using var intel = new LongModeGuest(a => LongModeGuest.EmitExit(a, 1));

        Assert.True(amd.Cpu.TryWriteMsr(0xC001_0004, 0x1234));
        Assert.True(amd.Cpu.TryReadMsr(0xC001_0004, out ulong value));
        Assert.Equal(0x1234ul, value);
        Assert.False(intel.Cpu.TryReadMsr(0xC001_0000, out _));
    }

    private static string Vendor(uint ebx, uint edx, uint ecx)
    {
        Span<byte> bytes = stackalloc byte[12];
        BitConverter.TryWriteBytes(bytes, ebx);
        BitConverter.TryWriteBytes(bytes[4..], edx);
        BitConverter.TryWriteBytes(bytes[8..], ecx);
        return System.Text.Encoding.ASCII.GetString(bytes);
    }
}
