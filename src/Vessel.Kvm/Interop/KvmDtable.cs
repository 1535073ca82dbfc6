using System.Runtime.InteropServices;

namespace Vessel.Kvm.Interop;

/// <summary>struct kvm_dtable: GDTR or IDTR.</summary>
[StructLayout(LayoutKind.Sequential, Size = 16)]
internal struct KvmDtable
{
    public ulong Base;
    public ushort Limit;
    public ushort Padding0;
    public ushort Padding1;
    public ushort Padding2;
}
