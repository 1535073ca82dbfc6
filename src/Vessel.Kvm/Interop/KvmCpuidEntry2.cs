using System.Runtime.InteropServices;

namespace Vessel.Kvm.Interop;

/// <summary>struct kvm_cpuid_entry2: one CPUID leaf/subleaf and its four output registers.</summary>
[StructLayout(LayoutKind.Sequential, Size = 40)]
internal struct KvmCpuidEntry2
{
    /// <summary>KVM_CPUID_FLAG_SIGNIFCANT_INDEX: <see cref="Index"/> (ECX input) selects this entry.</summary>
    public const uint FlagSignificantIndex = 1;

    public uint Function;
    public uint Index;
    public uint Flags;
    public uint Eax;
    public uint Ebx;
    public uint Ecx;
    public uint Edx;
    public uint Padding0;
    public uint Padding1;
    public uint Padding2;
}
