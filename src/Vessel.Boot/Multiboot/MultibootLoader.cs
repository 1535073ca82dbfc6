using Vessel.Boot.Bios;
using Vessel.Boot.Cpu;
using Vessel.Boot.Elf;
using Vessel.Boot.Layout;
using Vessel.Core.Accel;
using Vessel.Core.Memory;

namespace Vessel.Boot.Multiboot;

/// <summary>
/// Boots a multiboot v1 kernel (Multiboot Specification 0.6.96): loads it through its ELF program headers, or through the header's
/// a.out kludge addresses when flag bit 16 is set, places modules page-aligned above it, writes the information structure at
/// <see cref="BootLayout.MultibootInfoStart"/> with strings from <see cref="BootLayout.CommandLineStart"/>, and returns the 32-bit
/// protected-mode state of §3.2 ("Machine state").
/// </summary>
public static class MultibootLoader
{
    /// <summary>EAX at entry: tells the OS it was loaded by a multiboot boot loader (§3.2).</summary>
    public const uint BootloaderMagic = 0x2BAD_B002;

    /// <summary>The information structure's address fields are 32-bit, so everything must lie below 4 GiB.</summary>
    public const ulong AddressLimit = 1UL << 32;

    /// <summary>Put in boot_loader_name.</summary>
    public const string BootLoaderName = "Vessel";

    /// <summary>Header requirement bits Vessel meets. Bit 2 (video mode) is accepted without video information, as QEMU does: there is no framebuffer.</summary>
    private const MultibootHeaderFlags SupportedRequirements =
        MultibootHeaderFlags.PageAlignModules | MultibootHeaderFlags.MemoryInformation | MultibootHeaderFlags.VideoMode;

    private const ulong MemoryMapStart = BootLayout.MultibootInfoStart + MultibootInfo.Size;

    /// <summary>The module list takes the last 3 KiB of the information page: up to 192 modules.</summary>
    private const ulong ModuleListStart = BootLayout.MultibootInfoEnd - (3 * KiB);

    private const ulong KiB = 1024;

    public static LoadedKernel Load(GuestMemory memory, ReadOnlySpan<byte> image, KernelLoadOptions options)
    {
        if (!MultibootHeader.TryFind(image, out var header))
        {
            throw new BootImageException(
                $"No multiboot header (magic 0x{MultibootHeader.Magic:x8} with a valid checksum, 4-byte aligned) in the first {MultibootHeader.SearchLimit} bytes: "
                + "this is not a multiboot kernel.");
        }

        var unsupported = header.Flags & MultibootHeaderFlags.RequirementMask & ~SupportedRequirements;
        if (unsupported != 0)
        {
            throw new BootImageException(
                $"Multiboot header at offset 0x{header.Offset:x} requires features (flags 0x{(uint)unsupported:x}) that Vessel does not provide; "
                + "the specification says a boot loader must then refuse the kernel.");
        }

        var modules = options.Modules.Count > 0 || options.Initrd.IsEmpty
            ? options.Modules
            : [new MultibootModule(options.Initrd, "initrd")];
        var bootAreas = BootAreas(options, modules);

        KernelImageFormat format;
        ulong entry;
        ulong start;
        ulong end;
        if (header.HasAddressFields)
        {
            format = KernelImageFormat.MultibootAout;
            (entry, start, end) = LoadWithAddressFields(memory, image, header, bootAreas);
        }
        else if (ElfFile.HasMagic(image))
        {
            format = KernelImageFormat.MultibootElf;
            var loaded = ElfLoader.Load(memory, image, bootAreas, AddressLimit);
            (entry, start, end) = (loaded.Entry, loaded.Start, loaded.End);
        }
        else
        {
            throw new BootImageException(
                $"The multiboot header at offset 0x{header.Offset:x} has no address fields (flag bit 16 clear) and the file is not ELF, "
                + "so there is no way to know where to load it. Link the kernel as ELF or set the a.out kludge fields.");
        }

        if (entry >= AddressLimit)
        {
            throw new BootImageException($"Multiboot entry point 0x{entry:x} is above 4 GiB and cannot be reached in 32-bit protected mode.");
        }

        WriteInformation(memory, options, modules, end);
        RealModeInterruptVectors.Write(memory);

        var segments = BootGdt.Write(memory, longMode: false);
        var state = new VcpuBootState
        {
            Rax = BootloaderMagic,
            Rbx = BootLayout.MultibootInfoStart,
            Rip = entry,

            // §3.2 leaves ESP to the OS; a small stack in free low memory (between the boot GDT's page and the information page,
            // inside the boot areas) forgives a kernel that pushes before setting its own.
            Rsp = BootLayout.MultibootInfoStart,
            Cr0 = (ulong)(ControlRegister0.ProtectionEnable | ControlRegister0.ExtensionType),
        };
        segments.ApplyTo(state);
        return new LoadedKernel(format, BootProtocol.Multiboot, entry, start, end, 0, 0, state);
    }

    /// <summary>The a.out kludge (§3.1.3): the text starts at load_addr, which lies header_addr - load_addr bytes before the header in the file.</summary>
    /// <summary>
    /// What this loader writes below 1 MiB. A kernel may load anywhere else, low memory included (kvm-unit-tests' realmode test
    /// links at 0x8000), as QEMU's multiboot loader allows.
    /// </summary>
    private static BootArea[] BootAreas(KernelLoadOptions options, IReadOnlyList<MultibootModule> modules)
    {
        var strings = new List<string> { options.CommandLine, BootLoaderName };
        strings.AddRange(modules.Select(module => module.CommandLine));
        ulong stringsEnd = BootLayout.CommandLineStart + MultibootStringArea.SizeOf(strings);
        return
        [
            new BootArea(0, BootLayout.MultibootInfoEnd, "the real-mode IVT, the boot GDT, the boot stack and the multiboot information"),
            new BootArea(BootLayout.CommandLineStart, stringsEnd, "the multiboot command line and module strings"),
            new BootArea(BootLayout.ReservedLowStart, BootLayout.HighMemoryStart, "the EBDA, MP and ACPI tables and the BIOS area"),
        ];
    }

    private static (ulong Entry, ulong Start, ulong End) LoadWithAddressFields(
        GuestMemory memory, ReadOnlySpan<byte> image, MultibootHeader header, IReadOnlyList<BootArea> bootAreas)
    {
        string where = $"Multiboot header at offset 0x{header.Offset:x}";
        if (header.LoadAddress > header.HeaderAddress || header.HeaderAddress - header.LoadAddress > (uint)header.Offset)
        {
            throw new BootImageException(
                $"{where} has load_addr 0x{header.LoadAddress:x} and header_addr 0x{header.HeaderAddress:x}: the load start would lie "
                + "before the beginning of the file. The header's address fields are wrong.");
        }

        int fileOffset = header.Offset - (int)(header.HeaderAddress - header.LoadAddress);
        ulong loadEnd = header.LoadEndAddress == 0 ? header.LoadAddress + (ulong)(image.Length - fileOffset) : header.LoadEndAddress;
        if (loadEnd <= header.LoadAddress || loadEnd - header.LoadAddress > (ulong)(image.Length - fileOffset))
        {
            throw new BootImageException(
                $"{where} has load_end_addr 0x{header.LoadEndAddress:x}, which with load_addr 0x{header.LoadAddress:x} asks for "
                + $"{(long)loadEnd - header.LoadAddress} bytes from file offset 0x{fileOffset:x}, but the file has {image.Length - fileOffset} there: "
                + "the file is truncated or the header is wrong.");
        }

        ulong bssEnd = header.BssEndAddress == 0 ? loadEnd : header.BssEndAddress;
        if (bssEnd < loadEnd)
        {
            throw new BootImageException($"{where} has bss_end_addr 0x{bssEnd:x} below load_end_addr 0x{loadEnd:x}; the header is wrong.");
        }

        BootArea.RequireClear(bootAreas, header.LoadAddress, bssEnd, $"{where} loads the kernel (load_addr to bss_end_addr) at");

        if (header.EntryAddress < header.LoadAddress || header.EntryAddress >= bssEnd)
        {
            throw new BootImageException($"{where} has entry_addr 0x{header.EntryAddress:x} outside the loaded image 0x{header.LoadAddress:x}-0x{bssEnd:x}.");
        }

        ulong loadSize = loadEnd - header.LoadAddress;
        GuestRam.Require(memory, header.LoadAddress, bssEnd - header.LoadAddress, "The multiboot kernel (load_addr to bss_end_addr)");
        GuestRam.Write(memory, header.LoadAddress, image.Slice(fileOffset, (int)loadSize), "The multiboot kernel");
        GuestRam.Zero(memory, loadEnd, bssEnd - loadEnd, "The multiboot kernel's bss");
        return (header.EntryAddress, header.LoadAddress, bssEnd);
    }

    private static void WriteInformation(GuestMemory memory, KernelLoadOptions options, IReadOnlyList<MultibootModule> modules, ulong kernelEnd)
    {
        var info = new MultibootInfo();
        var strings = new MultibootStringArea(memory);

        // §3.3: mem_lower counts from 0 (at most 640 KiB), mem_upper from 1 MiB to the first hole; both agree with the memory map.
        ulong lowRamEnd = GuestRam.LowRamEnd(memory);
        info.SetMemory((uint)(BootLayout.ReservedLowStart / KiB), (uint)((Math.Min(lowRamEnd, AddressLimit) - BootLayout.HighMemoryStart) / KiB));
        info.SetCommandLine(strings.Add(options.CommandLine, "The kernel command line"));
        info.SetBootLoaderName(strings.Add(BootLoaderName, "The boot loader name"));

        var map = E820Map.Build(memory, options.ReservedRanges);
        int mapBytes = map.Count * MultibootInfo.MemoryMapEntrySize;
        if (MemoryMapStart + (ulong)mapBytes > ModuleListStart)
        {
            throw new BootImageException($"The memory map has {map.Count} entries, more than fit in the multiboot information page; reserve fewer ranges.");
        }

        var mapBuffer = new byte[mapBytes];
        for (int index = 0; index < map.Count; index++)
        {
            MultibootInfo.EncodeMemoryMapEntry(mapBuffer.AsSpan(index * MultibootInfo.MemoryMapEntrySize), map[index]);
        }

        GuestRam.Write(memory, MemoryMapStart, mapBuffer, "The multiboot memory map");
        info.SetMemoryMap((uint)mapBytes, (uint)MemoryMapStart);

        if (modules.Count > 0)
        {
            ulong listBytes = (ulong)modules.Count * MultibootInfo.ModuleEntrySize;
            if (ModuleListStart + listBytes > BootLayout.MultibootInfoEnd)
            {
                throw new BootImageException(
                    $"{modules.Count} multiboot modules do not fit in the module list (at most {(BootLayout.MultibootInfoEnd - ModuleListStart) / MultibootInfo.ModuleEntrySize}).");
            }

            var list = new byte[listBytes];
            ulong next = AlignUp(kernelEnd);
            for (int index = 0; index < modules.Count; index++)
            {
                var module = modules[index];
                ulong size = (ulong)module.Data.Length;
                if (next + size > Math.Min(lowRamEnd, AddressLimit))
                {
                    throw new BootImageException(
                        $"Multiboot module {index} (\"{module.CommandLine}\", {size} bytes) does not fit between 0x{next:x} and the end of low RAM at 0x{lowRamEnd:x}. "
                        + "Give the guest more memory or use smaller modules.");
                }

                GuestRam.Write(memory, next, module.Data.Span, $"Multiboot module {index}");
                uint name = strings.Add(module.CommandLine, $"The string of multiboot module {index}");
                MultibootInfo.EncodeModuleEntry(list.AsSpan(index * MultibootInfo.ModuleEntrySize), (uint)next, (uint)(next + size), name);
                next = AlignUp(next + size);
            }

            GuestRam.Write(memory, ModuleListStart, list, "The multiboot module list");
            info.SetModules((uint)modules.Count, (uint)ModuleListStart);
        }

        GuestRam.Write(memory, BootLayout.MultibootInfoStart, info.Bytes, "The multiboot information structure");
    }

    /// <summary>Modules start on page boundaries whether or not the kernel asks (flag bit 0), which satisfies both.</summary>
    private static ulong AlignUp(ulong address) => (address + BootLayout.PageSize - 1) & ~(BootLayout.PageSize - 1);
}
