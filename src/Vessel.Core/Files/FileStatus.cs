using System.Runtime.InteropServices;

namespace Vessel.Core.Files;

/// <summary>
/// The x86-64 Linux <c>struct stat</c> (asm/stat.h), of which Vessel reads only the type and size; the other fields keep
/// their places so the kernel's 144 bytes fit.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 144)]
internal struct FileStatus
{
    /// <summary>S_IFMT: the file type bits of st_mode.</summary>
    public const uint TypeMask = 0xF000;
    public const uint Fifo = 0x1000;
    public const uint CharacterDevice = 0x2000;
    public const uint Directory = 0x4000;
    public const uint BlockDevice = 0x6000;
    public const uint RegularFile = 0x8000;
    public const uint SymbolicLink = 0xA000;
    public const uint Socket = 0xC000;

    /// <summary>st_mode.</summary>
    [FieldOffset(24)]
    public uint Mode;

    /// <summary>st_size.</summary>
    [FieldOffset(48)]
    public long Size;

    public readonly uint Type => Mode & TypeMask;
}
