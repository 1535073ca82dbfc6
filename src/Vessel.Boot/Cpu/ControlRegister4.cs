namespace Vessel.Boot.Cpu;

/// <summary>CR4 bits the boot loaders set (Intel SDM 3A §2.5).</summary>
[Flags]
public enum ControlRegister4 : ulong
{
    /// <summary>PAE: physical address extension, required for IA-32e paging.</summary>
    PhysicalAddressExtension = 1UL << 5,
}
