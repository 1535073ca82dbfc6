namespace Vessel.X86.Apic;

/// <summary>LVT timer bits 18:17 (Intel SDM 3A §11.5.4).</summary>
public enum ApicTimerMode
{
    OneShot = 0,
    Periodic = 1,
    TscDeadline = 2,
}
