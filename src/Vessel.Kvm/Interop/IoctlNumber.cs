using System.Runtime.CompilerServices;

namespace Vessel.Kvm.Interop;

/// <summary>
/// The kernel's ioctl request encoding (include/uapi/asm-generic/ioctl.h, which x86 uses unchanged):
/// bits 0-7 the command number, 8-15 the type ("magic"), 16-29 the argument size, 30-31 the direction.
/// </summary>
internal static class IoctlNumber
{
    private const int NumberShift = 0;
    private const int TypeShift = 8;
    private const int SizeShift = 16;
    private const int DirectionShift = 30;
    private const uint SizeMask = (1u << 14) - 1;

    private const uint DirectionNone = 0;
    private const uint DirectionWrite = 1;
    private const uint DirectionRead = 2;

    /// <summary>_IO(type, nr): no argument, or an integer argument passed by value.</summary>
    public static ulong Io(byte type, byte number) => Encode(DirectionNone, type, number, 0);

    /// <summary>_IOR(type, nr, T): the kernel writes a T to userspace.</summary>
    public static ulong Ior<T>(byte type, byte number)
        where T : unmanaged => Encode(DirectionRead, type, number, Unsafe.SizeOf<T>());

    /// <summary>_IOW(type, nr, T): userspace passes a T to the kernel.</summary>
    public static ulong Iow<T>(byte type, byte number)
        where T : unmanaged => Encode(DirectionWrite, type, number, Unsafe.SizeOf<T>());

    /// <summary>_IOWR(type, nr, T): both directions.</summary>
    public static ulong Iowr<T>(byte type, byte number)
        where T : unmanaged => Encode(DirectionRead | DirectionWrite, type, number, Unsafe.SizeOf<T>());

    private static ulong Encode(uint direction, byte type, byte number, int size)
    {
        if ((uint)size > SizeMask)
        {
            throw new ArgumentOutOfRangeException(nameof(size), $"An ioctl argument of {size} bytes does not fit the 14-bit size field.");
        }

        return (direction << DirectionShift) | ((uint)size << SizeShift) | ((uint)type << TypeShift) | ((uint)number << NumberShift);
    }
}
