using System.Runtime.InteropServices;

namespace Vessel.Kvm.Interop;

/// <summary>struct kvm_xsave (KVM_GET_XSAVE / KVM_SET_XSAVE): the standard-format XSAVE area, legacy FXSAVE region first.</summary>
[StructLayout(LayoutKind.Sequential, Size = KvmConstants.XsaveSize)]
internal unsafe struct KvmXsave
{
    public fixed uint Region[KvmConstants.XsaveSize / 4];
}
