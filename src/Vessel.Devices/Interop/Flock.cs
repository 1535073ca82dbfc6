using System.Runtime.InteropServices;

namespace Vessel.Devices.Interop;

/// <summary><c>struct flock</c> (fcntl(2)) on 64-bit Linux: short l_type, l_whence; off_t l_start, l_len; pid_t l_pid (0 for OFD locks).</summary>
[StructLayout(LayoutKind.Explicit, Size = 32)]
internal struct Flock
{
    [FieldOffset(0)] public short l_type;
    [FieldOffset(2)] public short l_whence;
    [FieldOffset(8)] public long l_start;
    [FieldOffset(16)] public long l_len;
    [FieldOffset(24)] public int l_pid;
}
