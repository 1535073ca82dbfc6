using System.Runtime.InteropServices;

namespace Vessel.Kvm.Interop;

/// <summary>
/// kvm_run.io (KVM_EXIT_IO): a port access. <see cref="Count"/> elements of <see cref="Size"/> bytes lie back to back
/// at <see cref="DataOffset"/> from the start of the kvm_run mapping (more than one for string I/O).
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = 16)]
internal struct KvmRunIo
{
    public byte Direction;
    public byte Size;
    public ushort Port;
    public uint Count;
    public ulong DataOffset;
}
