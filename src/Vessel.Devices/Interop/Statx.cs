using System.Runtime.InteropServices;

namespace Vessel.Devices.Interop;

/// <summary><c>struct statx</c> (statx(2)), which has one layout on every architecture, unlike <c>struct stat</c>; only the fields read here.</summary>
[StructLayout(LayoutKind.Explicit, Size = 256)]
internal struct Statx
{
    [FieldOffset(0x00)] public uint stx_mask;
    [FieldOffset(0x1C)] public ushort stx_mode;
    [FieldOffset(0x28)] public ulong stx_size;
}
