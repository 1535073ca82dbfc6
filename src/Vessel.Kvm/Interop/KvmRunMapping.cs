using System.Runtime.InteropServices;

namespace Vessel.Kvm.Interop;

/// <summary>A vCPU's kvm_run area, mmap'd from its descriptor at offset 0 and unmapped on release.</summary>
internal sealed class KvmRunMapping : SafeHandle
{
    private KvmRunMapping(nint address, int size)
        : base(Libc.MapFailed, ownsHandle: true)
    {
        SetHandle(address);
        Size = size;
    }

    /// <summary>Bytes mapped: KVM_GET_VCPU_MMAP_SIZE, kvm_run plus the pages that follow it (the PIO data page among them).</summary>
    public int Size { get; }

    public nint Address => handle;

    public override bool IsInvalid => handle == Libc.MapFailed || handle == 0;

    /// <summary>Maps the kvm_run area of <paramref name="vcpu"/>; returns null and sets <paramref name="errno"/> when mmap fails.</summary>
    public static KvmRunMapping? Map(SafeKvmVcpuHandle vcpu, int size, out int errno)
    {
        nint address = Libc.Mmap(0, (nuint)size, Libc.ProtRead | Libc.ProtWrite, Libc.MapShared, vcpu, 0);
        errno = Marshal.GetLastPInvokeError();
        return address == Libc.MapFailed ? null : new KvmRunMapping(address, size);
    }

    protected override bool ReleaseHandle() => Libc.Munmap(handle, (nuint)Size) == 0;
}
