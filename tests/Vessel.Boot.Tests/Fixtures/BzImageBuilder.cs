using System.Buffers.Binary;

namespace Vessel.Boot.Tests.Fixtures;

/// <summary>Builds a bzImage-shaped file: boot sector and setup sectors with a setup header at 0x1F1, then the protected-mode kernel.</summary>
public sealed class BzImageBuilder
{
    public byte SetupSectors { get; init; } = 4;

    public ushort Version { get; init; } = 0x020F;

    public byte LoadFlags { get; init; } = 0x01;

    public ushort ExtendedLoadFlags { get; init; } = 0x03;

    public uint CommandLineSize { get; init; } = 2047;

    public uint InitrdAddressMax { get; init; } = 0x7FFF_FFFF;

    public uint KernelAlignment { get; init; } = 0x20_0000;

    public bool Relocatable { get; init; } = true;

    public ulong PreferredAddress { get; init; } = 0x100_0000;

    public uint InitSize { get; init; } = 0x40_0000;

    /// <summary>Header length past 0x202, stored in the jump's offset byte at 0x201 (0x6A for a 2.15 header ending at 0x26C).</summary>
    public byte JumpOffset { get; init; } = 0x6A;

    public byte[] ProtectedModeKernel { get; init; } = MakeKernel(0x3000);

    /// <summary>Bytes cut off the end of the built file, to make it truncated.</summary>
    public int Truncate { get; init; }

    public int ProtectedModeOffset => ((SetupSectors == 0 ? 4 : SetupSectors) + 1) * 512;

    public static byte[] MakeKernel(int length)
    {
        var kernel = new byte[length];
        for (int i = 0; i < kernel.Length; i++)
        {
            kernel[i] = (byte)(i * 7 + 3);
        }

        return kernel;
    }

    public byte[] Build()
    {
        int setupEnd = ProtectedModeOffset;
        var file = new byte[setupEnd + ProtectedModeKernel.Length];
        file[0x1F1] = SetupSectors;
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(0x1F4), (uint)((ProtectedModeKernel.Length + 15) / 16));
        BinaryPrimitives.WriteUInt16LittleEndian(file.AsSpan(0x1FE), 0xAA55);
        file[0x200] = 0xEB;
        file[0x201] = JumpOffset;
        "HdrS"u8.CopyTo(file.AsSpan(0x202));
        BinaryPrimitives.WriteUInt16LittleEndian(file.AsSpan(0x206), Version);
        file[0x211] = LoadFlags;
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(0x214), 0x10_0000);
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(0x22C), InitrdAddressMax);
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(0x230), KernelAlignment);
        file[0x234] = (byte)(Relocatable ? 1 : 0);
        BinaryPrimitives.WriteUInt16LittleEndian(file.AsSpan(0x236), ExtendedLoadFlags);
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(0x238), CommandLineSize);
        BinaryPrimitives.WriteUInt64LittleEndian(file.AsSpan(0x258), PreferredAddress);
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(0x260), InitSize);
        ProtectedModeKernel.CopyTo(file, setupEnd);
        return file[..(file.Length - Truncate)];
    }
}
