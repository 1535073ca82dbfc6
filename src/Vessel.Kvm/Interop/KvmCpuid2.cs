using System.Runtime.InteropServices;

namespace Vessel.Kvm.Interop;

/// <summary>The fixed header of struct kvm_cpuid2 (KVM_GET_SUPPORTED_CPUID / KVM_SET_CPUID2); <see cref="KvmCpuidEntry2"/> entries follow it.</summary>
[StructLayout(LayoutKind.Sequential, Size = 8)]
internal struct KvmCpuid2
{
    public uint Nent;
    public uint Padding;
}
