namespace Vessel.X86.Cpu;

/// <summary>What compiled blocks need to know of the soft TLB to walk it inline (Jit/BlockEmitter.TlbHost).</summary>
public sealed unsafe partial class Cpu
{
    /// <summary>Entries in each of the read and write TLBs (a power of two: the index is the page number's low bits).</summary>
    internal const int TlbEntriesPerTableShared = TlbEntriesPerTable;
}
