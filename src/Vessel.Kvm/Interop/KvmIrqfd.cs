using System.Runtime.InteropServices;

namespace Vessel.Kvm.Interop;

/// <summary>struct kvm_irqfd (KVM_IRQFD): ties an eventfd to a GSI so a write to it raises the interrupt in-kernel.</summary>
[StructLayout(LayoutKind.Sequential, Size = 32)]
internal unsafe struct KvmIrqfd
{
    /// <summary>KVM_IRQFD_FLAG_DEASSIGN: detach the eventfd from the GSI.</summary>
    public const uint FlagDeassign = 1 << 0;

    public uint Fd;
    public uint Gsi;
    public uint Flags;
    public uint Resamplefd;
    public fixed byte Pad[16];
}
