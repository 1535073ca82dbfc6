namespace Vessel.X86.Cpu;

/// <summary>What an <see cref="IModelSpecificRegisterExtension"/> did with an RDMSR or WRMSR.</summary>
public enum ModelSpecificRegisterAccess
{
    /// <summary>Not an MSR of this extension: the CPU's own MSR table decides.</summary>
    NotHandled,

    /// <summary>The extension read or wrote the MSR.</summary>
    Handled,

    /// <summary>The extension owns the MSR but refuses this access (wrong mode, reserved bits, read-only): #GP(0).</summary>
    GeneralProtection,
}
