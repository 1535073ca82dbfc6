using System.Runtime.InteropServices;

namespace Vessel.Kvm.Interop;

/// <summary>struct kvm_fpu (KVM_GET_FPU / KVM_SET_FPU): x87 and SSE state in FXSAVE terms.</summary>
[StructLayout(LayoutKind.Sequential, Size = 416)]
internal unsafe struct KvmFpu
{
    /// <summary>fpr[8][16]: the x87 registers, 16 bytes each.</summary>
    public fixed byte Fpr[8 * 16];

    /// <summary>FCW.</summary>
    public ushort Fcw;

    /// <summary>FSW.</summary>
    public ushort Fsw;

    /// <summary>The abridged tag word, as FXSAVE stores it.</summary>
    public byte Ftwx;
    public byte Pad1;
    public ushort LastOpcode;
    public ulong LastIp;
    public ulong LastDp;

    /// <summary>xmm[16][16].</summary>
    public fixed byte Xmm[16 * 16];
    public uint Mxcsr;
    public uint Pad2;
}
