using System.Collections.Frozen;

namespace Vessel.Core.Accel.CpuModels;

/// <summary>
/// The models <c>--cpu</c> accepts. The feature lists follow the QEMU models of the same name (target/i386/cpu.c,
/// version 1 of each); a model's features the accelerator does not implement are left off (docs/cpu.md).
/// </summary>
public static class CpuModelCatalog
{
    public const string Intel = "GenuineIntel";
    public const string Amd = "AuthenticAMD";

    /// <summary>QEMU's PPRO_FEATURES: the CPUID.01H:EDX baseline every QEMU x86 model starts from.</summary>
    private static readonly string[] PentiumProEdx =
        ["fpu", "de", "pse", "tsc", "msr", "mce", "cx8", "pge", "cmov", "pat", "fxsr", "mmx", "sse", "sse2", "pae", "sep", "apic"];

    private static readonly string[] OpteronEdx = [.. PentiumProEdx, "mtrr", "clflush", "mca", "pse36"];

    private static readonly string[] IntelCoreEdx = [.. OpteronEdx, "vme"];

    private static readonly string[] IvyBridgeEcx =
        ["pni", "pclmulqdq", "ssse3", "cx16", "sse4.1", "sse4.2", "x2apic", "popcnt", "tsc-deadline", "aes", "xsave", "avx", "f16c", "rdrand"];

    private static readonly string[] HaswellEcx = [.. IvyBridgeEcx, "fma", "movbe", "pcid"];

    private static readonly string[] HaswellLeaf7 = ["fsgsbase", "bmi1", "hle", "avx2", "smep", "bmi2", "erms", "invpcid", "rtm"];

    private static readonly string[] SkylakeLeaf7 = [.. HaswellLeaf7, "rdseed", "adx", "smap"];

    private static readonly CpuModel[] Models =
    [
        new("qemu64", "QEMU's default 64-bit CPU (AMD vendor, as QEMU gives it without KVM)", CpuModelKind.Named, Amd, 15, 107, 1,
            CpuFeatureSet.Of([.. OpteronEdx, "pni", "cx16", "lm", "syscall", "nx", "lahf-lm", "svm"])),
        new("max", "everything the accelerator implements", CpuModelKind.Everything, null, 6, 6, 3, CpuFeatureSet.All),
        new("host", "KVM: the host's CPU; software: the same as max", CpuModelKind.Everything, null, 6, 6, 3, CpuFeatureSet.All),
        new("base", "no optional features at all (add them with +feature)", CpuModelKind.Named, null, 6, 6, 3, CpuFeatureSet.Empty),
        new("Opteron_G1", "AMD Opteron 240 (Gen 1 Class Opteron)", CpuModelKind.Named, Amd, 15, 6, 1,
            CpuFeatureSet.Of([.. OpteronEdx, "pni", "lm", "nx", "syscall"])),
        new("Opteron_G2", "AMD Opteron 22xx (Gen 2 Class Opteron)", CpuModelKind.Named, Amd, 15, 6, 1,
            CpuFeatureSet.Of([.. OpteronEdx, "pni", "cx16", "lm", "rdtscp", "nx", "syscall", "svm", "lahf-lm"])),
        new("Opteron_G3", "AMD Opteron 23xx (Gen 3 Class Opteron)", CpuModelKind.Named, Amd, 16, 2, 3,
            CpuFeatureSet.Of([.. OpteronEdx, "pni", "monitor", "cx16", "popcnt", "lm", "rdtscp", "nx", "syscall",
                "lahf-lm", "svm", "abm", "sse4a", "misalignsse"])),
        new("IvyBridge", "Intel Xeon E3-12xx v2 (Ivy Bridge)", CpuModelKind.Named, Intel, 6, 58, 9,
            CpuFeatureSet.Of([.. IntelCoreEdx, .. IvyBridgeEcx, "fsgsbase", "smep", "erms", "lm", "rdtscp", "nx", "syscall", "lahf-lm", "xsaveopt"])),
        new("Haswell", "Intel Core Processor (Haswell)", CpuModelKind.Named, Intel, 6, 60, 4,
            CpuFeatureSet.Of([.. IntelCoreEdx, .. HaswellEcx, .. HaswellLeaf7, "lm", "rdtscp", "nx", "syscall", "lahf-lm", "abm", "xsaveopt"])),
        new("Skylake-Client", "Intel Core Processor (Skylake)", CpuModelKind.Named, Intel, 6, 94, 3,
            CpuFeatureSet.Of([.. IntelCoreEdx, .. HaswellEcx, .. SkylakeLeaf7, "mpx", "lm", "rdtscp", "nx", "syscall",
                "lahf-lm", "abm", "3dnowprefetch", "xsaveopt", "xsavec", "xgetbv1"])),
        new("Skylake-Server", "Intel Xeon Processor (Skylake)", CpuModelKind.Named, Intel, 6, 85, 4,
            CpuFeatureSet.Of([.. IntelCoreEdx, .. HaswellEcx, .. SkylakeLeaf7, "tsc-adjust", "mpx", "clwb", "clflushopt", "avx512f", "avx512dq",
                "avx512cd", "avx512bw", "avx512vl", "pku", "pdpe1gb", "lm", "rdtscp", "nx", "syscall", "lahf-lm", "abm", "3dnowprefetch",
                "xsaveopt", "xsavec", "xgetbv1"])),
    ];

    private static readonly FrozenDictionary<string, CpuModel> ByName =
        Models.ToFrozenDictionary(model => model.Name, StringComparer.OrdinalIgnoreCase);

    public static IReadOnlyList<CpuModel> List => Models;

    /// <summary>The model names, for "accepted are ..." messages.</summary>
    public static string Names => string.Join(", ", Models.Select(model => model.Name));

    public static bool TryFind(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out CpuModel? model) =>
        ByName.TryGetValue(name, out model);
}
