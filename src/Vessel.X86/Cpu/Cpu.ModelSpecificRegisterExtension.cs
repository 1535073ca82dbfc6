namespace Vessel.X86.Cpu;

/// <summary>The hook through which RDMSR/WRMSR reach MSRs owned outside the core (the local APIC's).</summary>
public sealed unsafe partial class Cpu
{
    /// <summary>
    /// Consulted first by RDMSR and WRMSR: <see cref="ModelSpecificRegisterAccess.Handled"/> ends the instruction,
    /// <see cref="ModelSpecificRegisterAccess.GeneralProtection"/> raises #GP(0), and
    /// <see cref="ModelSpecificRegisterAccess.NotHandled"/> falls through to the CPU's own MSRs.
    /// </summary>
    public IModelSpecificRegisterExtension? MsrExtension { get; set; }
}
