using Vessel.Core.Accel;

namespace Vessel.Boot;

/// <summary>A kernel in guest memory with everything it needs around it, and the state the boot vCPU starts in.</summary>
/// <param name="Format">What the image was.</param>
/// <param name="Protocol">How the vCPU enters it.</param>
/// <param name="Entry">Guest-physical entry point (also <see cref="VcpuBootState.Rip"/> of <paramref name="BootState"/>).</param>
/// <param name="KernelStart">Lowest guest-physical address the kernel occupies.</param>
/// <param name="KernelEnd">First guest-physical address past the kernel (for a bzImage, past its init_size working area).</param>
/// <param name="InitrdAddress">Where the initrd went (Linux), or 0 without one.</param>
/// <param name="InitrdSize">Initrd bytes, or 0.</param>
/// <param name="BootState">Registers for the bootstrap processor.</param>
public sealed record LoadedKernel(
    KernelImageFormat Format,
    BootProtocol Protocol,
    ulong Entry,
    ulong KernelStart,
    ulong KernelEnd,
    ulong InitrdAddress,
    ulong InitrdSize,
    VcpuBootState BootState);
