using System.Runtime.InteropServices;

namespace Vessel.Kvm.Interop;

/// <summary>struct vhost_vring_state (VHOST_SET_VRING_NUM, VHOST_SET/GET_VRING_BASE): a ring's index and a number.</summary>
[StructLayout(LayoutKind.Sequential, Size = 8)]
internal struct VhostVringState
{
    public uint Index;
    public uint Num;
}
