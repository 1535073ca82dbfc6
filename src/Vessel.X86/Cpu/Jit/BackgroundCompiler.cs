using System.Collections.Concurrent;
using System.Diagnostics;
using Vessel.X86.Cpu.Decoding;

namespace Vessel.X86.Cpu.Jit;

/// <summary>
/// Compiles hot blocks on one background thread, so the vCPU keeps interpreting while RyuJIT works, and swaps the code
/// into the block when it is ready. A budget keeps RyuJIT's cost bounded: compilation may use at most a quarter of
/// the wall-clock time since the first request (plus a start-up allowance), and at most <see cref="QueueLimit"/>
/// blocks wait at once; a refused block is asked for again after another threshold of runs.
/// </summary>
public sealed class BackgroundCompiler
{
    private const int QueueLimit = 1024;
    private const double BudgetShare = 0.25;
    private static readonly long StartupAllowanceTicks = Stopwatch.Frequency / 5;

    private readonly ConcurrentQueue<RegionMember[]> queue = new();
    private readonly SemaphoreSlim available = new(0);
    private readonly object startLock = new();
    private Thread? thread;
    private long firstRequestTicks;
    private long backgroundTicks;
    private long compileTicks;
    private int queued;
    private long compiledBlocks;
    private long compiledRegions;
    private long compiledInstructions;
    private long inlineInstructions;
    private long refusedRequests;
    private long failedCompilations;
    private long ilBytes;
    private long nextReport = 64;

    /// <summary>One compiler for the process: RyuJIT is process-wide, so one thread is what bounds its share of the host.</summary>
    public static BackgroundCompiler Shared { get; } = new();

    public long CompiledBlocks => Interlocked.Read(ref compiledBlocks);

    /// <summary>Compiled regions of more than one block (their blocks count in <see cref="CompiledBlocks"/>).</summary>
    public long CompiledRegions => Interlocked.Read(ref compiledRegions);

    public long CompiledInstructions => Interlocked.Read(ref compiledInstructions);

    /// <summary>Instructions translated inline rather than as calls to their handlers.</summary>
    public long InlineInstructions => Interlocked.Read(ref inlineInstructions);

    public long RefusedRequests => Interlocked.Read(ref refusedRequests);

    /// <summary>Blocks the background compiler failed on (left to the interpreter); zero unless the compiler has a bug.</summary>
    public long FailedCompilations => Interlocked.Read(ref failedCompilations);

    /// <summary>IL emitted for compiled blocks; RyuJIT's host code is about as large.</summary>
    public long IlBytes => Interlocked.Read(ref ilBytes);

    /// <summary>Where progress goes (at 64, 128, 256... blocks): the first software VM's log.</summary>
    public Vessel.Core.Logging.IMachineLog? Log { get; set; }

    /// <summary>A one-line account of the work so far, for logs and benchmarks.</summary>
    public string Describe() => FormattableString.Invariant(
        $"{CompiledBlocks} blocks compiled, {CompiledRegions} regions of several ({CompiledInstructions} instructions, {InlineInstructions} inline, {IlBytes / 1024} KiB of IL) in {CompileTime.TotalMilliseconds:F0} ms; {RefusedRequests} requests refused by the budget{(FailedCompilations > 0 ? $"; {FailedCompilations} failed" : "")}");

    public TimeSpan CompileTime => Stopwatch.GetElapsedTime(0, Interlocked.Read(ref compileTicks));

    /// <summary>
    /// Queues the region <paramref name="members"/> (its entry first); false when the queue or the time budget is full
    /// (the caller asks again later).
    /// </summary>
    public bool TryEnqueue(RegionMember[] members)
    {
        long now = Stopwatch.GetTimestamp();
        if (Interlocked.CompareExchange(ref firstRequestTicks, now, 0) == 0)
        {
            Start();
        }

        long allowed = (long)((now - Interlocked.Read(ref firstRequestTicks)) * BudgetShare) + StartupAllowanceTicks;
        if (Interlocked.Read(ref backgroundTicks) > allowed || Interlocked.Increment(ref queued) > QueueLimit)
        {
            Interlocked.Increment(ref refusedRequests);
            return false;
        }

        queue.Enqueue(members);
        available.Release();
        return true;
    }

    /// <summary>Compiles on the calling thread (the <see cref="CompilingTierMode.Always"/> mode), outside the background budget.</summary>
    public void CompileNow(RegionMember[] members) => CompileAndInstall(members);

    private void Start()
    {
        lock (startLock)
        {
            if (thread != null)
            {
                return;
            }

            thread = new Thread(Work)
            {
                IsBackground = true,
                Name = "vessel-block-compiler",
                Priority = ThreadPriority.BelowNormal,
            };
            thread.Start();
        }
    }

    private void Work()
    {
        while (true)
        {
            available.Wait();
            if (queue.TryDequeue(out var members))
            {
                Interlocked.Decrement(ref queued);
                long start = Stopwatch.GetTimestamp();
                try
                {
                    CompileAndInstall(members);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    // A fault in the compiler must not take the VMM down: the block stays with the interpreter (it
                    // asked once and does not ask again), and the first failure is reported.
                    if (Interlocked.Increment(ref failedCompilations) == 1)
                    {
                        Log?.Warn($"compiling tier: a block at 0x{members[0].Block.PhysicalAddress:x} could not be compiled and stays interpreted: {e.Message}");
                    }
                }

                Interlocked.Add(ref backgroundTicks, Stopwatch.GetTimestamp() - start);
            }
        }
    }

    private void CompileAndInstall(RegionMember[] members)
    {
        long start = Stopwatch.GetTimestamp();
        var region = BlockCompiler.Compile(members, out int inline, out int il);

        // RyuJIT compiles a DynamicMethod at its first call: make that call here, off the vCPU thread (without a CPU the
        // code returns at once; see BlockCompiler).
        unsafe
        {
            region.Code(null!, null, null, 0);
        }

        members[0].Block.CompiledCode = region;
        Interlocked.Add(ref compileTicks, Stopwatch.GetTimestamp() - start);
        Interlocked.Add(ref compiledInstructions, region.Count);
        Interlocked.Add(ref inlineInstructions, inline);
        Interlocked.Add(ref ilBytes, il);
        if (members.Length > 1)
        {
            Interlocked.Increment(ref compiledRegions);
        }

        long compiled = Interlocked.Add(ref compiledBlocks, members.Length);
        if (compiled >= Interlocked.Read(ref nextReport))
        {
            Interlocked.Exchange(ref nextReport, compiled * 2);
            Log?.Info("compiling tier: " + Describe());
        }
    }
}
