namespace Vessel.Boot.Cpu;

/// <summary>CR0 bits the boot loaders set (Intel SDM 3A §2.5).</summary>
[Flags]
public enum ControlRegister0 : ulong
{
    /// <summary>PE: protected mode.</summary>
    ProtectionEnable = 1UL << 0,

    /// <summary>ET: extension type, hard-wired to 1 on every processor since the i486.</summary>
    ExtensionType = 1UL << 4,

    /// <summary>PG: paging.</summary>
    Paging = 1UL << 31,
}
