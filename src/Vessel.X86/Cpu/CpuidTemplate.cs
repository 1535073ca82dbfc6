using Vessel.Core.Accel.CpuModels;

namespace Vessel.X86.Cpu;

/// <summary>
/// What CPUID reports: a coherent x86-64 baseline of exactly what this CPU implements (see docs/cpu.md).
/// Features are listed as named bits so a template can switch them on or off, QEMU "-cpu" style.
/// </summary>
public sealed class CpuidTemplate
{
    /// <summary>The advertised (and emulated) time-stamp counter frequency: 1 GHz keeps conversions exact.</summary>
    public ulong TscFrequencyHz { get; init; } = 1_000_000_000;

    /// <summary>CPUID.1:EDX bit 28 (HTT): more than one logical processor ID in the package.</summary>
    private const uint HyperThreading = 1u << 28;

    /// <summary>
    /// CPUID.01H:EDX bits an AMD CPU repeats in CPUID.80000001H:EDX (AMD APM 3, Fn8000_0001_EDX): FPU, VME, DE, PSE, TSC,
    /// MSR, PAE, MCE, CX8, APIC, MTRR, PGE, MCA, CMOV, PAT, PSE36, MMX, FXSR.
    /// </summary>
    public const uint AmdMirroredLeaf1Edx = 0x3FFu | (0x3Fu << 12) | (1u << 23) | (1u << 24);

    private readonly string vendor = CpuModelCatalog.Intel;

    /// <summary>CPUID leaf 0's 12-character vendor string; it also chooses vendor-specific behaviour (<see cref="IsAmd"/>).</summary>
    public string Vendor
    {
        get => vendor;
        init
        {
            vendor = value;
            IsAmd = value == CpuModelCatalog.Amd;
        }
    }

    /// <summary>
    /// Whether the CPU behaves as AMD's where the vendors differ (SYSCALL in compatibility mode, SYSENTER/SYSEXIT in long
    /// mode); cached so instruction handlers test a bool, not a string.
    /// </summary>
    public bool IsAmd { get; private init; }

    /// <summary>The CPUID.01H:EAX signature: family 6, model 6, stepping 3 unless a CPU model says otherwise.</summary>
    public int Family { get; init; } = 6;

    public int Model { get; init; } = 6;

    public int Stepping { get; init; } = 3;

    public string BrandString { get; init; } = "Vessel virtual x86-64 CPU";

    /// <summary>CPUID.1:EDX: the x86-64-v2 baseline, x87, MMX, FXSR, SSE and SSE2 included.</summary>
    public uint Leaf1Edx { get; init; } = (uint)(CpuidFeatures1Edx.FloatingPointUnit | CpuidFeatures1Edx.Mmx | CpuidFeatures1Edx.Fxsr
        | CpuidFeatures1Edx.Sse | CpuidFeatures1Edx.Sse2 | CpuidFeatures1Edx.LocalApic | CpuidFeatures1Edx.TimeStampCounter | CpuidFeatures1Edx.ModelSpecificRegisters
        | CpuidFeatures1Edx.PhysicalAddressExtension | CpuidFeatures1Edx.Cmpxchg8b | CpuidFeatures1Edx.PageGlobalEnable
        | CpuidFeatures1Edx.ConditionalMove | CpuidFeatures1Edx.PageAttributeTable | CpuidFeatures1Edx.ClflushInstruction
        | CpuidFeatures1Edx.PageSizeExtension | CpuidFeatures1Edx.Sysenter | CpuidFeatures1Edx.MemoryTypeRangeRegisters);

    /// <summary>
    /// CPUID.1:ECX: SSE3 through SSE4.2, CMPXCHG16B, POPCNT, and the local APIC's x2APIC mode and TSC-deadline timer
    /// (their MSRs reach the APIC through <see cref="Cpu.MsrExtension"/>).
    /// </summary>
    public uint Leaf1Ecx { get; init; } = (uint)(CpuidFeatures1Ecx.Sse3 | CpuidFeatures1Ecx.Ssse3 | CpuidFeatures1Ecx.Sse41
        | CpuidFeatures1Ecx.Sse42 | CpuidFeatures1Ecx.Cmpxchg16b | CpuidFeatures1Ecx.Popcnt | CpuidFeatures1Ecx.X2Apic
        | CpuidFeatures1Ecx.TscDeadline);

    /// <summary>CPUID.80000001:EDX: SYSCALL (11), NX (20), 1 GiB pages (26, the long-mode walker maps them), RDTSCP (27), long mode (29).</summary>
    public uint ExtendedLeaf1Edx { get; init; } = (1u << 11) | (1u << 20) | (1u << 26) | (1u << 27) | (1u << 29);

    /// <summary>CPUID.80000001:ECX: LAHF/SAHF in 64-bit mode, LZCNT (ABM).</summary>
    public uint ExtendedLeaf1Ecx { get; init; } = (1u << 0) | (1u << 5);

    /// <summary>CPUID.7.0:EBX: BMI1 would bring TZCNT; off until implemented.</summary>
    public uint Leaf7Ebx { get; init; }

    /// <summary>CPUID.7.0:ECX: UMIP (bit 2), which CR4.UMIP and the SGDT/SIDT/SLDT/SMSW/STR checks implement.</summary>
    public uint Leaf7Ecx { get; init; } = 1u << 2;

    /// <summary>Logical processors in the package (the VM's vCPU count): CPUID.1:EBX[23:16], HTT and leaf 0xB.</summary>
    public int LogicalProcessorCount { get; init; } = 1;

    public static CpuidTemplate Default { get; } = new();

    public (uint Eax, uint Ebx, uint Ecx, uint Edx) Query(uint leaf, uint subleaf, Cpu cpu)
    {
        const uint maxBasic = 0x16;
        const uint maxExtended = 0x8000_0008;
        if (leaf is >= HypervisorLeafBase and <= 0x4FFF_FFFF)
        {
            return HypervisorLeaf(leaf);
        }

        if (leaf > maxBasic && leaf < 0x8000_0000)
        {
            leaf = maxBasic;
        }

        if (leaf > maxExtended)
        {
            leaf = maxBasic;
        }

        switch (leaf)
        {
            case 0:
                return (maxBasic, VendorWord(0), VendorWord(2), VendorWord(1));
            case 1:
                {
                    uint signature = CpuidSignature.Encode(Family, Model, Stepping);
                    uint logical = (uint)Math.Clamp(LogicalProcessorCount, 1, 255);
                    uint ebx = (uint)(cpu.ApicId << 24) | (logical << 16) | (8u << 8);
                    uint edx = LogicalProcessorCount > 1 ? Leaf1Edx | HyperThreading : Leaf1Edx & ~HyperThreading;

                    // SDM 3A §11.4.3: with IA32_APIC_BASE[11] clear, CPUID.01H:EDX.APIC reads 0.
                    if (!cpu.ApicGloballyEnabled)
                    {
                        edx &= ~(uint)CpuidFeatures1Edx.LocalApic;
                    }

                    return (signature, ebx, Leaf1Ecx | (1u << 31), edx);
                }

            case 7:
                return subleaf == 0 ? (0u, Leaf7Ebx, Leaf7Ecx, 0u) : (0u, 0u, 0u, 0u);
            case 0xB:
                {
                    // SDM 2A, leaf 0Bh: level 0 is SMT (one thread per core), level 1 the cores of the package, one per
                    // vCPU; EAX is the shift that leaves the next level's ID, EDX the x2APIC ID at every subleaf.
                    int coreBits = System.Numerics.BitOperations.Log2(System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(1, LogicalProcessorCount)));
                    return subleaf switch
                    {
                        0 => (0u, 1u, 0x100u, (uint)cpu.ApicId),
                        1 => ((uint)coreBits, (uint)LogicalProcessorCount, 0x200u | 1u, (uint)cpu.ApicId),
                        _ => (0u, 0u, subleaf & 0xFF, (uint)cpu.ApicId),
                    };
                }

            case 0x15:
                // TSC/crystal ratio: denominator 1, numerator 1, crystal = TSC frequency (SDM 3B §18.7.3).
                return (1u, 1u, (uint)TscFrequencyHz, 0u);
            case 0x16:
                {
                    uint megahertz = (uint)(TscFrequencyHz / 1_000_000);
                    return (megahertz, megahertz, 100u, 0u);
                }

            case 0x8000_0000:
                return (maxExtended, 0u, 0u, 0u);
            case 0x8000_0001:
                return (0u, 0u, ExtendedLeaf1Ecx, IsAmd ? ExtendedLeaf1Edx | (Leaf1Edx & AmdMirroredLeaf1Edx) : ExtendedLeaf1Edx);
            case 0x8000_0002:
            case 0x8000_0003:
            case 0x8000_0004:
                return BrandWords((int)(leaf - 0x8000_0002));
            case 0x8000_0007:
                // Invariant TSC (SDM 3B §18.17.1).
                return (0u, 0u, 0u, 1u << 8);
            case 0x8000_0008:
                return ((uint)Cpu.PhysicalAddressBits | (48u << 8), 0u, 0u, 0u);
            default:
                return (0u, 0u, 0u, 0u);
        }
    }

    /// <summary>First of the leaves CPUID.1:ECX[31] (hypervisor present) opens to the hypervisor, 0x40000000-0x4FFFFFFF.</summary>
    public const uint HypervisorLeafBase = 0x4000_0000;

    /// <summary>What leaf 0x40000000 names the hypervisor as, in EBX, ECX, EDX; zero-padded to 12 bytes.</summary>
    public const string HypervisorSignature = "Vessel";

    /// <summary>
    /// Leaf 0x40000000 gives the highest hypervisor leaf and the signature; 0x40000001 (KVM's feature leaf) and the rest
    /// are zero: no paravirtual clock or other interface a guest should look for. Without this the range fell through to
    /// leaf 0x16's numbers, which a guest reads as a garbled hypervisor name.
    /// </summary>
    private static (uint, uint, uint, uint) HypervisorLeaf(uint leaf)
    {
        if (leaf != HypervisorLeafBase)
        {
            return (0u, 0u, 0u, 0u);
        }

        Span<byte> bytes = stackalloc byte[12];
        bytes.Clear();
        System.Text.Encoding.ASCII.GetBytes(HypervisorSignature, bytes);
        return (HypervisorLeafBase + 1, BitConverter.ToUInt32(bytes), BitConverter.ToUInt32(bytes[4..]), BitConverter.ToUInt32(bytes[8..]));
    }

    private uint VendorWord(int index)
    {
        Span<byte> bytes = stackalloc byte[12];
        System.Text.Encoding.ASCII.GetBytes(Vendor.PadRight(12).AsSpan(0, 12), bytes);
        return BitConverter.ToUInt32(bytes[(index * 4)..]);
    }

    private (uint, uint, uint, uint) BrandWords(int part)
    {
        Span<byte> bytes = stackalloc byte[48];
        bytes.Clear();
        System.Text.Encoding.ASCII.GetBytes(BrandString.Length > 47 ? BrandString.AsSpan(0, 47) : BrandString.AsSpan(), bytes);
        var chunk = bytes.Slice(part * 16, 16);
        return (BitConverter.ToUInt32(chunk), BitConverter.ToUInt32(chunk[4..]), BitConverter.ToUInt32(chunk[8..]), BitConverter.ToUInt32(chunk[12..]));
    }
}
