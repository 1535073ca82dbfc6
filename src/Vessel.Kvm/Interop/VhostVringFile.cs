using System.Runtime.InteropServices;

namespace Vessel.Kvm.Interop;

/// <summary>struct vhost_vring_file (VHOST_SET_VRING_KICK/CALL/ERR, VHOST_NET_SET_BACKEND): a ring's index and a descriptor (-1 detaches).</summary>
[StructLayout(LayoutKind.Sequential, Size = 8)]
internal struct VhostVringFile
{
    public uint Index;
    public int Fd;
}
