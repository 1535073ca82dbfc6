namespace Vessel.Boot.Layout;

/// <summary>
/// Where the boot loaders put things in low guest memory (DESIGN.md, "The x86-64 machine").
/// The Linux addresses are Firecracker's (src/vmm/src/arch/x86_64/layout.rs and regs.rs), so a kernel sees what it sees there.
/// </summary>
public static class BootLayout
{
    /// <summary>Boot GDT, shared by the Linux 64-bit and multiboot entries (Firecracker BOOT_GDT_OFFSET).</summary>
    public const ulong GdtStart = 0x500;

    /// <summary>Multiboot information structure, its memory map and module list (the page Firecracker uses for PVH start info).</summary>
    public const ulong MultibootInfoStart = 0x6000;

    /// <summary>End (exclusive) of the page that holds the multiboot information, memory map and module list.</summary>
    public const ulong MultibootInfoEnd = 0x7000;

    /// <summary>Linux struct boot_params, the "zero page" (Firecracker ZERO_PAGE_START).</summary>
    public const ulong ZeroPageStart = 0x7000;

    /// <summary>Initial RSP and RBP for the boot vCPU (Firecracker BOOT_STACK_POINTER); the stack grows down below the page tables.</summary>
    public const ulong BootStackPointer = 0x8FF0;

    /// <summary>Boot page-map level-4 table (Firecracker PML4_START).</summary>
    public const ulong Pml4Start = 0x9000;

    /// <summary>Boot page-directory-pointer table (Firecracker PDPTE_START).</summary>
    public const ulong PdptStart = 0xA000;

    /// <summary>Boot page directory of 2 MiB pages (Firecracker PDE_START).</summary>
    public const ulong PageDirectoryStart = 0xB000;

    /// <summary>Kernel command line (Firecracker CMDLINE_START); multiboot strings follow it.</summary>
    public const ulong CommandLineStart = 0x20000;

    /// <summary>Start of the reserved area below 1 MiB: EBDA, MP table, VGA hole, ACPI RSDP and BIOS (Firecracker SYSTEM_MEM_START).</summary>
    public const ulong ReservedLowStart = 0x9FC00;

    /// <summary>1 MiB: the end of the reserved low area and the load address of bzImage and multiboot kernels (Firecracker HIMEM_START).</summary>
    public const ulong HighMemoryStart = 0x10_0000;

    /// <summary>ACPI RSDP address, in the reserved BIOS area (Firecracker RSDP_ADDR).</summary>
    public const ulong AcpiRsdpAddress = 0xE0000;

    public const ulong PageSize = 4096;
}
