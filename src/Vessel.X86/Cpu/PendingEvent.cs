namespace Vessel.X86.Cpu;

/// <summary>Bits of the one word the run loop checks at every block boundary.</summary>
[Flags]
public enum PendingEvent
{
    None = 0,
    ExitRequested = 1 << 0,
    InterruptRequest = 1 << 1,
    WriteTlbFlush = 1 << 2,
    TimerDeadline = 1 << 3,

    /// <summary>An INIT IPI (or INIT signal) arrived: reset and, on an application processor, wait for STARTUP.</summary>
    Init = 1 << 4,

    /// <summary>A STARTUP IPI arrived; its vector is in <see cref="Cpu"/>'s startup latch.</summary>
    Startup = 1 << 5,

    /// <summary>A non-maskable interrupt is pending.</summary>
    NonMaskableInterrupt = 1 << 6,

    /// <summary>The dirty log was collected: mark the pages of the write TLB dirty, then drop its entries.</summary>
    DirtyLogSync = 1 << 7,
}
