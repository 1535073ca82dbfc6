using System.Runtime.InteropServices;

namespace Vessel.Kvm.Interop;

/// <summary>struct kvm_ioeventfd (KVM_IOEVENTFD): an eventfd the kernel signals on a guest write to an address.</summary>
[StructLayout(LayoutKind.Sequential, Size = 64)]
internal unsafe struct KvmIoeventfd
{
    /// <summary>KVM_IOEVENTFD_FLAG_DATAMATCH: fire only when the written value equals datamatch.</summary>
    public const uint FlagDatamatch = 1 << 0;

    /// <summary>KVM_IOEVENTFD_FLAG_PIO: a port, not an MMIO address.</summary>
    public const uint FlagPio = 1 << 1;

    /// <summary>KVM_IOEVENTFD_FLAG_DEASSIGN: remove the registration that matches every other field.</summary>
    public const uint FlagDeassign = 1 << 2;

    public ulong Datamatch;
    public ulong Addr;
    public uint Len;
    public int Fd;
    public uint Flags;
    public fixed byte Pad[36];
}
