namespace Vessel.X86.Cpu.Paging;

public enum AccessKind
{
    Read = 0,
    Write = 1,
    Fetch = 2,
}
