using System.Runtime.InteropServices;

namespace Vessel.Kvm.Interop;

/// <summary>struct kvm_dirty_log (KVM_GET_DIRTY_LOG): a memory slot and where to write its bitmap, one bit per page.</summary>
[StructLayout(LayoutKind.Sequential, Size = 16)]
internal struct KvmDirtyLog
{
    public uint Slot;
    public uint Padding1;

    /// <summary>dirty_bitmap: a user pointer to (pages + 63) / 64 u64 words.</summary>
    public ulong DirtyBitmap;
}
