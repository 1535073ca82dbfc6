using System.Runtime.InteropServices;

namespace Vessel.Kvm.Interop;

/// <summary>
/// struct kvm_xcrs (KVM_GET_XCRS / KVM_SET_XCRS). Each of the <see cref="KvmConstants.MaxXcrs"/> struct kvm_xcr entries
/// is { u32 xcr; u32 reserved; u64 value; }, held here as two 64-bit words per entry.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = 392)]
internal unsafe struct KvmXcrs
{
    public uint NrXcrs;
    public uint Flags;
    public fixed ulong Xcrs[KvmConstants.MaxXcrs * 2];
    public fixed ulong Padding[16];
}
