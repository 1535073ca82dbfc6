namespace Vessel.Boot;

/// <summary>How the boot vCPU enters the loaded kernel.</summary>
public enum BootProtocol
{
    /// <summary>Linux 64-bit boot protocol (Documentation/arch/x86/boot.rst): long mode, RSI = boot_params.</summary>
    Linux64,

    /// <summary>Multiboot v1: 32-bit protected mode without paging, EAX = 0x2BADB002, EBX = multiboot information.</summary>
    Multiboot,
}
