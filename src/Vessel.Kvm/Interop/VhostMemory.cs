using System.Runtime.InteropServices;

namespace Vessel.Kvm.Interop;

/// <summary>struct vhost_memory (VHOST_SET_MEM_TABLE): the count, then that many <see cref="VhostMemoryRegion"/> (a flexible array).</summary>
[StructLayout(LayoutKind.Sequential, Size = 8)]
internal struct VhostMemory
{
    public uint Nregions;
    public uint Padding;
}
