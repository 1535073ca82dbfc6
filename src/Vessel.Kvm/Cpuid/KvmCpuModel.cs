using Vessel.Core.Accel.CpuModels;
using Vessel.Core.Logging;

namespace Vessel.Kvm.Cpuid;

/// <summary>
/// A <c>--cpu</c> model under KVM: the feature words it names, narrowed to what KVM_GET_SUPPORTED_CPUID offers, and the
/// vendor and signature, laid over the supported entries. Like QEMU with KVM, the vendor is the host's unless
/// <c>vendor=</c> says otherwise, and <c>max</c>/<c>host</c> keep the host's signature.
/// </summary>
public sealed class KvmCpuModel
{
    /// <summary>Bits KVM or the CPU maintain at run time, never taken from a model: OSXSAVE, HYPERVISOR, HTT, OSPKE.</summary>
    private static readonly Dictionary<CpuFeatureWord, uint> DynamicBits = new()
    {
        [CpuFeatureWord.Leaf1Ecx] = (1u << 27) | (1u << 31),
        [CpuFeatureWord.Leaf1Edx] = 1u << 28,
        [CpuFeatureWord.Leaf7Ecx] = 1u << 4,
    };

    private KvmCpuModel(CpuFeatureSet features, string? vendor, uint? signature)
    {
        Features = features;
        Vendor = vendor;
        Signature = signature;
    }

    public CpuFeatureSet Features { get; }

    /// <summary>The vendor= override, or null for the host's.</summary>
    public string? Vendor { get; }

    /// <summary>CPUID.01H:EAX for a named model; null keeps the host's.</summary>
    public uint? Signature { get; }

    /// <summary>The feature words KVM offers, read from KVM_GET_SUPPORTED_CPUID's entries.</summary>
    public static CpuFeatureSet Supported(ReadOnlySpan<CpuidEntry> entries)
    {
        var words = new Dictionary<CpuFeatureWord, uint>();
        for (int word = 0; word < CpuFeatureWords.Count; word++)
        {
            var (leaf, subleaf, register) = CpuFeatureWords.Location((CpuFeatureWord)word);
            foreach (var entry in entries)
            {
                if (leaf != 0 && entry.Function == leaf && (!entry.IndexSignificant || entry.Index == subleaf))
                {
                    words[(CpuFeatureWord)word] = entry.Get(ToRegister(register));
                }
            }
        }

        return CpuFeatureSet.FromWords(words);
    }

    /// <summary>Resolves <paramref name="spec"/> against <paramref name="supported"/>, warning once per requested feature KVM lacks.</summary>
    public static KvmCpuModel Create(CpuModelSpec spec, ReadOnlySpan<CpuidEntry> supported, IMachineLog log)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(log);
        var resolved = ResolvedCpuModel.Resolve(spec, Supported(supported), "KVM");
        foreach (string warning in resolved.Warnings)
        {
            log.Warn(warning);
        }

        foreach (string property in spec.IgnoredProperties)
        {
            log.Info($"--cpu {property}: accepted for QEMU compatibility; it changes nothing here.");
        }

        if (spec.PhysicalAddressBits is not null || spec.HostPhysicalAddressBits is not null || spec.TscFrequencyHz is not null || spec.ModelId is not null)
        {
            log.Info("--cpu: phys-bits, host-phys-bits, tsc-frequency and model-id are not applied under KVM yet; the host's values stand.");
        }

        bool named = spec.Model.Kind == CpuModelKind.Named || spec.Family is not null || spec.ModelNumber is not null || spec.Stepping is not null;
        uint? signature = named ? CpuidSignature.Encode(resolved.Family, resolved.ModelNumber, resolved.Stepping) : null;
        return new KvmCpuModel(resolved.Features, spec.Vendor, signature);
    }

    /// <summary>Lays the model over one entry: feature words (keeping the run-time bits), the vendor in leaf 0, the signature in leaf 1.</summary>
    public void Apply(ref CpuidEntry entry)
    {
        for (int word = 0; word < CpuFeatureWords.Count; word++)
        {
            var (leaf, subleaf, register) = CpuFeatureWords.Location((CpuFeatureWord)word);
            if (leaf != 0 && entry.Function == leaf && (!entry.IndexSignificant || entry.Index == subleaf))
            {
                uint keep = DynamicBits.GetValueOrDefault((CpuFeatureWord)word);
                var target = ToRegister(register);
                entry.Set(target, (entry.Get(target) & keep) | (Features[(CpuFeatureWord)word] & ~keep));
            }
        }

        if (entry.Function == 0 && Vendor is { Length: 12 } vendor)
        {
            // Intel SDM 2A, leaf 0: the vendor string in EBX, EDX, ECX order.
            entry.Ebx = Word(vendor, 0);
            entry.Edx = Word(vendor, 4);
            entry.Ecx = Word(vendor, 8);
        }

        if (entry.Function == 1 && Signature is { } signature)
        {
            entry.Eax = signature;
        }
    }

    private static uint Word(string text, int start) =>
        (uint)text[start] | ((uint)text[start + 1] << 8) | ((uint)text[start + 2] << 16) | ((uint)text[start + 3] << 24);

    private static CpuidRegister ToRegister(char register) => register switch
    {
        'A' => CpuidRegister.Eax,
        'B' => CpuidRegister.Ebx,
        'C' => CpuidRegister.Ecx,
        _ => CpuidRegister.Edx,
    };
}
