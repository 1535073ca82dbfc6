namespace Vessel.X86.Cpu;

/// <summary>DR6, the debug status register (Intel SDM 3B §18.2.3).</summary>
[Flags]
public enum DebugStatus : ulong
{
    None = 0,

    /// <summary>B0-B3: breakpoint n's condition was met.</summary>
    Breakpoint0 = 1 << 0,
    Breakpoint1 = 1 << 1,
    Breakpoint2 = 1 << 2,
    Breakpoint3 = 1 << 3,
    Breakpoints = Breakpoint0 | Breakpoint1 | Breakpoint2 | Breakpoint3,

    /// <summary>BD: a MOV DR was attempted while DR7.GD was set.</summary>
    DebugRegisterAccess = 1 << 13,

    /// <summary>BS: single-step (RFLAGS.TF).</summary>
    SingleStep = 1 << 14,

    /// <summary>BT: task switch to a TSS with its T flag set (task switches are not emulated).</summary>
    TaskSwitch = 1 << 15,
}
