using System.Runtime.CompilerServices;
using Vessel.Core.Memory;

namespace Vessel.X86.Cpu.Decoding;

/// <summary>
/// VM-wide record of which physical pages hold decoded code, with a write generation per page. A write to a code page
/// bumps its generation, which makes every vCPU's blocks from that page stale at their next lookup (self-modifying
/// and cross-modifying code).
/// </summary>
public sealed class CodeCache : IGuestMemoryWriteObserver
{
    private readonly uint[] generations;
    private readonly byte[] isCode;
    private readonly object codeMarkLock = new();
    private Cpu[] cpus = [];

    public CodeCache(GuestMemory memory)
    {
        ulong highestEnd = 0;
        foreach (var region in memory.Regions)
        {
            highestEnd = Math.Max(highestEnd, region.End.Value);
        }

        long pages = (long)(highestEnd >> 12);
        generations = new uint[pages];
        isCode = new byte[pages];
    }

    internal void Attach(Cpu cpu)
    {
        lock (codeMarkLock)
        {
            cpus = [.. cpus, cpu];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint GenerationOf(ulong physicalAddress)
    {
        ulong page = physicalAddress >> 12;
        return page < (ulong)generations.Length ? Volatile.Read(ref generations[page]) : 0;
    }

    public bool IsCodePage(ulong physicalAddress)
    {
        ulong page = physicalAddress >> 12;
        return page < (ulong)isCode.Length && Volatile.Read(ref isCode[page]) != 0;
    }

    /// <summary>Marks a page as holding code: every vCPU drops its write translations so writes to it are seen.</summary>
    internal void MarkCode(ulong physicalAddress, Cpu decoder)
    {
        ulong page = physicalAddress >> 12;
        if (page >= (ulong)isCode.Length || isCode[page] != 0)
        {
            return;
        }

        Volatile.Write(ref isCode[page], 1);
        decoder.FlushWriteTlb();
        foreach (var cpu in cpus)
        {
            if (cpu != decoder)
            {
                cpu.RequestWriteTlbFlush();
            }
        }
    }

    /// <summary>Called before a guest write to a page through the slow path.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void OnWrite(ulong physicalAddress, Cpu writer)
    {
        ulong page = physicalAddress >> 12;
        if (page < (ulong)isCode.Length && isCode[page] != 0)
        {
            Invalidate(page, writer);
        }
    }

    /// <summary>
    /// A device wrote guest RAM (DMA): its code pages go stale exactly as a guest store would make them. A vCPU in the middle
    /// of a block from such a page finishes that block, as real CPUs may run a few stale instructions after cross-modification.
    /// </summary>
    public void OnExternalWrite(ulong physicalAddress, ulong length)
    {
        ulong last = (physicalAddress + length - 1) >> 12;
        for (ulong page = physicalAddress >> 12; page <= last && page < (ulong)isCode.Length; page++)
        {
            if (Volatile.Read(ref isCode[page]) != 0)
            {
                Volatile.Write(ref isCode[page], 0);
                Interlocked.Increment(ref generations[page]);
            }
        }
    }

    private void Invalidate(ulong page, Cpu writer)
    {
        Volatile.Write(ref isCode[page], 0);
        Interlocked.Increment(ref generations[page]);
        writer.StopBlock();
    }
}
