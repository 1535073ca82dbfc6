using System.Runtime.InteropServices;

namespace Vessel.Kvm.Interop;

/// <summary>glibc's struct sigaction on x86-64 (bits/sigaction.h), what libc's sigaction() takes; libc fills in sa_restorer.</summary>
[StructLayout(LayoutKind.Sequential, Size = 152)]
internal unsafe struct Sigaction
{
    /// <summary>SA_SIGINFO.</summary>
    public const int FlagSigInfo = 4;

    /// <summary>SA_RESTART: deliberately never set here, so a kick interrupts KVM_RUN with EINTR.</summary>
    public const int FlagRestart = 0x1000_0000;

    /// <summary>sa_handler (a union with sa_sigaction): SIG_DFL is 0, SIG_IGN is 1.</summary>
    public nint Handler;

    /// <summary>sa_mask: sigset_t, 1024 bits.</summary>
    public fixed ulong Mask[16];
    public int Flags;
    public nint Restorer;
}
