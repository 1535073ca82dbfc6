namespace Vessel.X86.Cpu.Paging;

/// <summary>One software-TLB slot: a guest-virtual page mapped straight to host memory.</summary>
public struct TlbEntry
{
    public const ulong Invalid = ulong.MaxValue;

    /// <summary>Virtual page number (linear address >> 12), or <see cref="Invalid"/>.</summary>
    public ulong Tag;

    /// <summary>Host address minus the linear address of the page: host pointer = Addend + linear.</summary>
    public nint Addend;

    public ulong PhysicalPage;

    /// <summary>Whether the translation came from a global page (survives CR3 writes while CR4.PGE).</summary>
    public bool Global;
}
