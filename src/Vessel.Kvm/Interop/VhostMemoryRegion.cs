using System.Runtime.InteropServices;

namespace Vessel.Kvm.Interop;

/// <summary>struct vhost_memory_region: one guest-physical range and where it is mapped in this process.</summary>
[StructLayout(LayoutKind.Sequential, Size = 32)]
internal struct VhostMemoryRegion
{
    public ulong GuestPhysAddr;
    public ulong MemorySize;
    public ulong UserspaceAddr;

    /// <summary>flags_padding: no flags are defined.</summary>
    public ulong FlagsPadding;
}
