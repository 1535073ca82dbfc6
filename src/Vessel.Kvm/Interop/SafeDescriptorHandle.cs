using System.Runtime.InteropServices;

namespace Vessel.Kvm.Interop;

/// <summary>A file descriptor that is closed exactly once, when the last user releases it.</summary>
internal abstract class SafeDescriptorHandle : SafeHandle
{
    protected SafeDescriptorHandle()
        : base(invalidHandleValue: -1, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle < 0;

    protected override bool ReleaseHandle() => Libc.Close((int)handle) == 0;
}
