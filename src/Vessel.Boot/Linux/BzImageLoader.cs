using Vessel.Boot.Cpu;
using Vessel.Boot.Layout;
using Vessel.Core.Memory;

namespace Vessel.Boot.Linux;

/// <summary>
/// Loads a bzImage for the 64-bit boot protocol (boot.rst, "Loading The Rest of The Kernel" and "64-bit BOOT PROTOCOL"): the protected-mode
/// kernel after the (setup_sects + 1) * 512 bytes of real-mode code goes to 1 MiB, where every bzImage may load (a relocatable kernel
/// moves itself to an aligned address as it decompresses), and the entry is 0x200 past it.
/// </summary>
public static class BzImageLoader
{
    /// <summary>boot.rst: "the kernel is started by jumping to the 64-bit kernel entry point, which is the start address of loaded 64-bit kernel plus 0x200".</summary>
    public const ulong Entry64Offset = 0x200;

    public static BzImageLoadResult Load(GuestMemory memory, ReadOnlySpan<byte> image)
    {
        var header = SetupHeader.Parse(image);
        ulong loadAddress = BootLayout.HighMemoryStart;
        var kernel = image[header.ProtectedModeOffset..];
        ulong end = Math.Max(loadAddress + (ulong)kernel.Length, DecompressionEnd(header, loadAddress));
        if (end > IdentityPageTables.MappedSize)
        {
            throw new BootImageException(
                $"bzImage needs guest-physical 0x{loadAddress:x}-0x{end:x} while it decompresses (init_size at 0x260 is 0x{header.InitSize:x}), "
                + $"beyond the 0x{IdentityPageTables.MappedSize:x} bytes the boot page tables identity-map. The kernel is too large to boot.");
        }

        GuestRam.Require(memory, loadAddress, end - loadAddress, $"The bzImage kernel (protected-mode code {kernel.Length} bytes, init_size 0x{header.InitSize:x})");
        GuestRam.Write(memory, loadAddress, kernel, "The bzImage protected-mode kernel");
        return new BzImageLoadResult(header, loadAddress, loadAddress + Entry64Offset, end);
    }

    /// <summary>
    /// Where the kernel's working area ends. arch/x86/boot/compressed/head_64.S decompresses at the load address rounded up to
    /// kernel_alignment, or at LOAD_PHYSICAL_ADDR (pref_address) if that is higher, and needs init_size bytes from there.
    /// </summary>
    private static ulong DecompressionEnd(SetupHeader header, ulong loadAddress)
    {
        if (header.InitSize == 0)
        {
            return loadAddress;
        }

        ulong runAddress = loadAddress;
        if (header.Relocatable && header.KernelAlignment > 1)
        {
            ulong alignment = header.KernelAlignment;
            runAddress = (loadAddress + alignment - 1) / alignment * alignment;
        }

        runAddress = Math.Max(runAddress, header.PreferredAddress);
        return runAddress + header.InitSize;
    }
}
