using System.Runtime.InteropServices;

namespace Vessel.Kvm.Interop;

/// <summary>struct kvm_msr_entry: one MSR index and value.</summary>
[StructLayout(LayoutKind.Sequential, Size = 16)]
internal struct KvmMsrEntry
{
    public uint Index;
    public uint Reserved;
    public ulong Data;
}
