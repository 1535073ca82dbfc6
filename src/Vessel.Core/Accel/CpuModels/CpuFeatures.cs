using System.Collections.Frozen;

namespace Vessel.Core.Accel.CpuModels;

/// <summary>
/// The CPU feature names <c>--cpu</c> accepts, with QEMU's spelling (target/i386/cpu.c feature_word_info) and bit
/// positions from Intel SDM 2A (CPUID) and AMD APM 3 (CPUID Fn8000_0001, Fn8000_000A). Lookup ignores case and treats
/// '_', '-' and '.' alike, as QEMU does (sse4.2 = sse4_2 = sse4-2).
/// </summary>
public static class CpuFeatures
{
    private static readonly CpuFeature[] All =
    [
        .. Word(CpuFeatureWord.Leaf1Edx,
            "fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", null, "sep", "mtrr", "pge", "mca", "cmov",
            "pat", "pse36", "pn", "clflush", null, "ds", "acpi", "mmx", "fxsr", "sse", "sse2", "ss", "ht", "tm", "ia64", "pbe"),
        .. Word(CpuFeatureWord.Leaf1Ecx,
            "pni", "pclmulqdq", "dtes64", "monitor", "ds-cpl", "vmx", "smx", "est", "tm2", "ssse3", "cid", null, "fma", "cx16", "xtpr", "pdcm",
            null, "pcid", "dca", "sse4.1", "sse4.2", "x2apic", "movbe", "popcnt", "tsc-deadline", "aes", "xsave", null, "avx", "f16c", "rdrand", "hypervisor"),
        .. Word(CpuFeatureWord.Leaf7Ebx,
            "fsgsbase", "tsc-adjust", "sgx", "bmi1", "hle", "avx2", null, "smep", "bmi2", "erms", "invpcid", "rtm", null, null, "mpx", null,
            "avx512f", "avx512dq", "rdseed", "adx", "smap", "avx512ifma", null, "clflushopt", "clwb", null, "avx512pf", "avx512er", "avx512cd", "sha-ni", "avx512bw", "avx512vl"),
        .. Word(CpuFeatureWord.Leaf7Ecx,
            null, "avx512vbmi", "umip", "pku", null, "waitpkg", "avx512vbmi2", null, "gfni", "vaes", "vpclmulqdq", "avx512vnni", "avx512bitalg", null, "avx512-vpopcntdq", null,
            "la57", null, null, null, null, null, "rdpid", null, null, "cldemote", null, "movdiri", "movdir64b", null, null, null),
        .. Word(CpuFeatureWord.Leaf7Edx,
            null, null, "avx512-4vnniw", "avx512-4fmaps", "fsrm", null, null, null, null, null, "md-clear", null, null, null, "serialize", null,
            "tsx-ldtrk", null, null, "arch-lbr", null, null, null, null, null, null, "spec-ctrl", "stibp", null, "arch-capabilities", "core-capability", "ssbd"),
        .. Word(CpuFeatureWord.XsaveEax, "xsaveopt", "xsavec", "xgetbv1", "xsaves"),
        .. Word(CpuFeatureWord.ExtendedLeaf1Edx,
            null, null, null, null, null, null, null, null, null, null, null, "syscall", null, null, null, null,
            null, null, null, null, "nx", null, "mmxext", null, null, "fxsr-opt", "pdpe1gb", "rdtscp", null, "lm", "3dnowext", "3dnow"),
        .. Word(CpuFeatureWord.ExtendedLeaf1Ecx,
            "lahf-lm", "cmp-legacy", "svm", "extapic", "cr8legacy", "abm", "sse4a", "misalignsse", "3dnowprefetch", "osvw", "ibs", "xop", "skinit", "wdt", null, "lwp",
            "fma4", "tce", null, "nodeid-msr", null, "tbm", "topoext", "perfctr-core", "perfctr-nb"),
        .. Word(CpuFeatureWord.SvmEdx,
            "npt", "lbrv", "svm-lock", "nrip-save", "tsc-scale", "vmcb-clean", "flushbyasid", "decodeassists", null, null, "pause-filter", null, "pfthreshold", "avic", null, "v-vmsave-vmload",
            "vgif"),
        .. Word(CpuFeatureWord.VmxSecondaryControls,
            "vmx-apicv-xapic", "vmx-ept", "vmx-desc-exit", "vmx-rdtscp-exit", "vmx-apicv-x2apic", "vmx-vpid", "vmx-wbinvd-exit", "vmx-unrestricted-guest",
            "vmx-apicv-register", "vmx-apicv-vid", "vmx-ple", "vmx-rdrand-exit", "vmx-invpcid-exit", "vmx-vmfunc", "vmx-shadow-vmcs", null,
            "vmx-rdseed-exit", "vmx-pml", null, null, "vmx-xsaves", null, "vmx-mbec", null, null, "vmx-tsc-scaling"),
    ];

    /// <summary>Other spellings QEMU accepts for the same bit (cpu.c's feature aliases); '_' and '.' variants need none.</summary>
    private static readonly (string Alias, string Name)[] Aliases =
    [
        ("sse3", "pni"), ("xd", "nx"), ("i64", "lm"), ("ffxsr", "fxsr-opt"), ("pclmuldq", "pclmulqdq"),
    ];

    private static readonly FrozenDictionary<string, CpuFeature> ByName = BuildIndex();

    /// <summary>Every named feature, in CPUID order.</summary>
    public static IReadOnlyList<CpuFeature> List => All;

    public static bool TryFind(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out CpuFeature? feature) =>
        ByName.TryGetValue(Normalize(name), out feature);

    /// <summary>The feature called <paramref name="name"/>; throws <see cref="KeyNotFoundException"/> for a name that is not in the table (a bug in a model list).</summary>
    public static CpuFeature Get(string name) =>
        TryFind(name, out var feature) ? feature : throw new KeyNotFoundException($"no CPU feature named '{name}'");

    /// <summary>QEMU treats '_' and '-' alike in property names, and registers sse4.1/sse4.2 with '-' and '_' aliases too.</summary>
    public static string Normalize(string name) => name.Trim().ToLowerInvariant().Replace('_', '-').Replace('.', '-');

    private static IEnumerable<CpuFeature> Word(CpuFeatureWord word, params string?[] names)
    {
        for (int bit = 0; bit < names.Length; bit++)
        {
            if (names[bit] is { } name)
            {
                yield return new CpuFeature(name, word, bit);
            }
        }
    }

    private static FrozenDictionary<string, CpuFeature> BuildIndex()
    {
        var index = new Dictionary<string, CpuFeature>(StringComparer.Ordinal);
        foreach (var feature in All)
        {
            index.Add(Normalize(feature.Name), feature);
        }

        foreach (var (alias, name) in Aliases)
        {
            index.Add(Normalize(alias), index[Normalize(name)]);
        }

        return index.ToFrozenDictionary(StringComparer.Ordinal);
    }
}
