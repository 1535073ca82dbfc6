using System.Runtime.InteropServices;

namespace Vessel.Kvm.Interop;

/// <summary>struct vhost_vring_addr (VHOST_SET_VRING_ADDR): a ring's three parts as addresses in this process, and the dirty log's.</summary>
[StructLayout(LayoutKind.Sequential, Size = 40)]
internal struct VhostVringAddress
{
    public uint Index;

    /// <summary>1 &lt;&lt; VHOST_VRING_F_LOG turns dirty logging on (not used: live migration is not offered).</summary>
    public uint Flags;
    public ulong DescUserAddr;
    public ulong UsedUserAddr;
    public ulong AvailUserAddr;
    public ulong LogGuestAddr;
}
