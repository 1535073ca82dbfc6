using System.Runtime.InteropServices;

namespace Vessel.Kvm.Interop;

/// <summary>A file descriptor that is closed exactly once, when the last user releases it.</summary>
internal abstract class SafeDescriptorHandle : SafeHandle
{
    /// <summary>Takes ownership of <paramref name="fd"/> as a C int returned it (-1 when the call failed).</summary>
    protected SafeDescriptorHandle(int fd)
        : base(invalidHandleValue: -1, ownsHandle: true)
    {
        SetHandle(fd);
    }

    public override bool IsInvalid => handle < 0;

    protected override bool ReleaseHandle() => Libc.Close((int)handle) == 0;
}
