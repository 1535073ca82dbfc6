using System.Runtime.InteropServices;

namespace Vessel.Kvm;

/// <summary>The kernel refused a KVM call that a working host accepts; carries the call's name and the errno.</summary>
public sealed class KvmIoctlException(string operation, int errno, string? advice = null)
    : KvmException($"{operation} failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno}).{(advice is null ? string.Empty : " " + advice)}")
{
    public string Operation { get; } = operation;

    public int Errno { get; } = errno;

    internal static void ThrowIfFailed(int result, string operation, string? advice = null)
    {
        if (result < 0)
        {
            Throw(operation, Marshal.GetLastPInvokeError(), advice);
        }
    }

    internal static void Throw(string operation, int errno, string? advice = null) => throw new KvmIoctlException(operation, errno, advice);
}
