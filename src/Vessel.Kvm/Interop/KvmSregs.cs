using System.Runtime.InteropServices;

namespace Vessel.Kvm.Interop;

/// <summary>struct kvm_sregs (KVM_GET_SREGS / KVM_SET_SREGS): segments, descriptor tables, control registers, EFER, APIC base.</summary>
[StructLayout(LayoutKind.Sequential, Size = 312)]
internal unsafe struct KvmSregs
{
    public KvmSegment Cs;
    public KvmSegment Ds;
    public KvmSegment Es;
    public KvmSegment Fs;
    public KvmSegment Gs;
    public KvmSegment Ss;
    public KvmSegment Tr;
    public KvmSegment Ldt;
    public KvmDtable Gdt;
    public KvmDtable Idt;
    public ulong Cr0;
    public ulong Cr2;
    public ulong Cr3;
    public ulong Cr4;
    public ulong Cr8;
    public ulong Efer;
    public ulong ApicBase;

    /// <summary>A pending external interrupt, one bit per vector (at most one bit set).</summary>
    public fixed ulong InterruptBitmap[KvmConstants.InterruptBitmapWords];
}
