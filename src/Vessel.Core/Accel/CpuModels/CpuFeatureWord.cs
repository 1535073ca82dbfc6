namespace Vessel.Core.Accel.CpuModels;

/// <summary>
/// A 32-bit CPUID output register that holds named feature bits (one of QEMU's "feature words"), or a VMX capability
/// word. <see cref="CpuFeatureWords"/> says where each word is found.
/// </summary>
public enum CpuFeatureWord
{
    /// <summary>CPUID.01H:EDX.</summary>
    Leaf1Edx,

    /// <summary>CPUID.01H:ECX.</summary>
    Leaf1Ecx,

    /// <summary>CPUID.(EAX=07H,ECX=0):EBX.</summary>
    Leaf7Ebx,

    /// <summary>CPUID.(EAX=07H,ECX=0):ECX.</summary>
    Leaf7Ecx,

    /// <summary>CPUID.(EAX=07H,ECX=0):EDX.</summary>
    Leaf7Edx,

    /// <summary>CPUID.(EAX=0DH,ECX=1):EAX: the XSAVE extensions.</summary>
    XsaveEax,

    /// <summary>CPUID.80000001H:EDX.</summary>
    ExtendedLeaf1Edx,

    /// <summary>CPUID.80000001H:ECX.</summary>
    ExtendedLeaf1Ecx,

    /// <summary>CPUID.8000000AH:EDX: SVM sub-features (AMD APM 3, appendix E).</summary>
    SvmEdx,

    /// <summary>IA32_VMX_PROCBASED_CTLS2 allowed-1 bits: not CPUID, but QEMU names them as CPU features (vmx-*).</summary>
    VmxSecondaryControls,
}

/// <summary>Where each <see cref="CpuFeatureWord"/> lives, for messages and for accelerators that map words to CPUID entries.</summary>
public static class CpuFeatureWords
{
    public const int Count = (int)CpuFeatureWord.VmxSecondaryControls + 1;

    /// <summary>The CPUID leaf, subleaf and register of a word; <c>Leaf</c> is 0 for a word that is not CPUID.</summary>
    public static (uint Leaf, uint Subleaf, char Register) Location(CpuFeatureWord word) => word switch
    {
        CpuFeatureWord.Leaf1Edx => (0x1, 0, 'D'),
        CpuFeatureWord.Leaf1Ecx => (0x1, 0, 'C'),
        CpuFeatureWord.Leaf7Ebx => (0x7, 0, 'B'),
        CpuFeatureWord.Leaf7Ecx => (0x7, 0, 'C'),
        CpuFeatureWord.Leaf7Edx => (0x7, 0, 'D'),
        CpuFeatureWord.XsaveEax => (0xD, 1, 'A'),
        CpuFeatureWord.ExtendedLeaf1Edx => (0x8000_0001, 0, 'D'),
        CpuFeatureWord.ExtendedLeaf1Ecx => (0x8000_0001, 0, 'C'),
        CpuFeatureWord.SvmEdx => (0x8000_000A, 0, 'D'),
        _ => (0, 0, ' '),
    };

    /// <summary>QEMU's way of naming a bit: <c>CPUID.01H:ECX.vmx [bit 5]</c>.</summary>
    public static string Describe(CpuFeature feature)
    {
        var (leaf, subleaf, register) = Location(feature.Word);
        if (leaf == 0)
        {
            return $"MSR(48BH).{feature.Name} [bit {feature.Bit}]";
        }

        string leafText = leaf == 0x7 || leaf == 0xD ? $"{leaf:X2}H.{subleaf:X2}H" : $"{leaf:X2}H";
        return $"CPUID.{leafText}:E{register}X.{feature.Name} [bit {feature.Bit}]";
    }
}
