namespace Vessel.Boot.Linux;

/// <summary>What <see cref="BzImageLoader"/> put in guest memory.</summary>
/// <param name="Header">The kernel's validated setup header, to copy into boot_params.</param>
/// <param name="LoadAddress">Where the protected-mode kernel was copied.</param>
/// <param name="Entry">The 64-bit entry point: load address + 0x200.</param>
/// <param name="End">First address past the kernel the kernel still needs while it decompresses and initializes (init_size); an initrd must start at or above it.</param>
public readonly record struct BzImageLoadResult(SetupHeader Header, ulong LoadAddress, ulong Entry, ulong End);
