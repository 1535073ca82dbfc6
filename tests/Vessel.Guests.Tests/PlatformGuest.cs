using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Vessel.Guests.Tests;

/// <summary>Guest-code helpers for the platform chips: mapping the MMIO hole and waiting on a local APIC IRR bit.</summary>
public static class PlatformGuest
{
    public const ulong ApicBase = 0xFEE0_0000;
    public const ulong IoApicBase = 0xFEC0_0000;

    /// <summary>A free page below the boot structures for the extra page directory.</summary>
    private const ulong MmioDirectory = 0x2000;

    /// <summary>The Linux boot PDPT (Vessel.Boot's BootLayout.PdptStart): its fourth entry covers 3-4 GiB.</summary>
    private const ulong BootPdpt = 0xA000;

    /// <summary>
    /// Maps the IOAPIC and local APIC pages with uncached 2 MiB pages (the Linux entry maps only the first GiB). The new
    /// PDPT entry was never present, so no TLB holds it and no CR3 reload is needed.
    /// </summary>
    public static void MapApicWindows(Assembler a)
    {
        foreach (ulong address in new[] { IoApicBase, ApicBase })
        {
            ulong entry = MmioDirectory + (((address >> 21) & 511) * 8);
            a.mov(rax, (address & ~0x1F_FFFFUL) | 0x9B);
            a.mov(__qword_ptr[entry], rax);
        }

        a.mov(rax, MmioDirectory | 0x3);
        a.mov(__qword_ptr[BootPdpt + (3 * 8)], rax);
    }

    /// <summary>Routes IOAPIC <paramref name="pin"/> to <paramref name="vector"/> on APIC 0, edge-triggered, unmasked (clobbers RSI).</summary>
    public static void RouteIoApicPin(Assembler a, int pin, int vector)
    {
        a.mov(rsi, IoApicBase);
        a.mov(__dword_ptr[rsi], 0x10 + (pin * 2) + 1);
        a.mov(__dword_ptr[rsi + 0x10], 0);
        a.mov(__dword_ptr[rsi], 0x10 + (pin * 2));
        a.mov(__dword_ptr[rsi + 0x10], vector);
    }

    /// <summary>Software-enables the local APIC (clobbers RDI, leaving the APIC base in it).</summary>
    public static void EnableApic(Assembler a)
    {
        a.mov(rdi, ApicBase);
        a.mov(__dword_ptr[rdi + 0xF0], 0x1FF);
    }

    /// <summary>Spins with interrupts off until <paramref name="vector"/> is pending in the local APIC's IRR (RDI = APIC base).</summary>
    public static void WaitForRequest(Assembler a, int vector)
    {
        var poll = a.CreateLabel();
        a.Label(ref poll);
        a.pause();
        a.mov(eax, __dword_ptr[rdi + 0x200 + ((vector >> 5) * 0x10)]);
        a.test(eax, 1 << (vector & 31));
        a.jz(poll);
    }
}
