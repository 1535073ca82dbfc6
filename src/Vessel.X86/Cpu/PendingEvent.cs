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
}
