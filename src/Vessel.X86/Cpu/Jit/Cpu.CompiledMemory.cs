using System.Runtime.CompilerServices;
using Vessel.X86.Cpu.Paging;

namespace Vessel.X86.Cpu;

/// <summary>
/// The soft-TLB fast path in the shape compiled blocks inline: a host pointer or null, with no generic method behind it.
/// RyuJIT resolves a generic instantiation afresh for every DynamicMethod that inlines one (TryRead&lt;T&gt;), which made a
/// block of loads cost about a millisecond per load to compile; a miss goes to the same slow path TryRead takes.
/// </summary>
public sealed unsafe partial class Cpu
{
    /// <summary>The host address of <paramref name="size"/> readable bytes at <paramref name="linear"/>, or null to take the slow path.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal byte* ReadPointer(ulong linear, int size)
    {
        ulong page = linear >> 12;
        TlbEntry* entry = readTlb + (page & (TlbEntriesPerTable - 1));
        return entry->Tag == page && (linear & PageOffsetMask) <= (ulong)(4096 - size) ? (byte*)(entry->Addend + (nint)linear) : null;
    }

    /// <summary>A TLB miss of a compiled load: TryReadSized, kept out of line so RyuJIT does not inline all four widths' slow paths.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal bool ReadMiss(ulong linear, int bits, out ulong value) => TryReadSized(linear, bits, out value);

    /// <summary>A TLB miss of a compiled store: TryWriteSized, out of line.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal bool WriteMiss(ulong linear, int bits, ulong value) => TryWriteSized(linear, bits, value);

    /// <summary>The host address of <paramref name="size"/> writable bytes at <paramref name="linear"/>, or null to take the slow path.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal byte* WritePointer(ulong linear, int size)
    {
        ulong page = linear >> 12;
        TlbEntry* entry = writeTlb + (page & (TlbEntriesPerTable - 1));
        return entry->Tag == page && (linear & PageOffsetMask) <= (ulong)(4096 - size) ? (byte*)(entry->Addend + (nint)linear) : null;
    }
}
