namespace Vessel.Boot.Elf;

/// <summary>e_machine values (System V ABI) that the loader accepts or names in its errors.</summary>
public enum ElfMachine : ushort
{
    /// <summary>EM_386.</summary>
    I386 = 3,

    /// <summary>EM_ARM.</summary>
    Arm = 40,

    /// <summary>EM_X86_64.</summary>
    X86_64 = 62,

    /// <summary>EM_AARCH64.</summary>
    AArch64 = 183,

    /// <summary>EM_RISCV.</summary>
    RiscV = 243,
}
