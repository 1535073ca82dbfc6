using System.Runtime.InteropServices;

namespace Vessel.Kvm.Interop;

/// <summary>
/// The real-time signal that kicks a vCPU thread out of KVM_RUN. The .NET runtime owns SIGRTMIN (it injects activations
/// with it to suspend threads for the GC), so this takes the first real-time signal from SIGRTMIN+2 whose disposition is
/// still the default, and installs a native handler without SA_RESTART, so a blocked KVM_RUN returns EINTR.
/// The handler is libc's abs(): a leaf function that reads its int argument, touches no memory, no errno and no lock,
/// and returns; called as void handler(int sig) it is a native no-op, so no managed code ever runs in signal context.
/// </summary>
internal static unsafe class VcpuKickSignal
{
    private const int FirstOffsetFromRealTimeMin = 2;

    private static readonly Lazy<int> Installed = new(Install, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Installs the handler once per process and returns the signal number.</summary>
    public static int EnsureInstalled() => Installed.Value;

    /// <summary>Lets the kick signal reach the calling thread (a thread could have inherited a mask that blocks it).</summary>
    public static void UnblockOnCurrentThread()
    {
        int signal = EnsureInstalled();
        ulong* set = stackalloc ulong[16];
        new Span<ulong>(set, 16).Clear();
        set[(signal - 1) / 64] |= 1UL << ((signal - 1) % 64);

        // Safety: set points at a 1024-bit sigset_t on this stack frame; the old mask is not wanted.
        Libc.PthreadSignalMask(Libc.SigUnblock, set, null);
    }

    /// <summary>Sends the kick signal to one thread of this process; a thread that has already exited is ignored.</summary>
    public static void Kick(int threadId)
    {
        int result = Libc.ThreadGroupKill(Libc.GetProcessId(), threadId, EnsureInstalled());
        if (result != 0 && Marshal.GetLastPInvokeError() != Libc.ErrorNoSuchProcess)
        {
            throw new KvmIoctlException("tgkill", Marshal.GetLastPInvokeError(), "Could not signal a vCPU thread to leave KVM_RUN.");
        }
    }

    private static int Install()
    {
        nint libc = NativeLibrary.Load("libc.so.6", typeof(VcpuKickSignal).Assembly, null);
        nint noOpHandler = NativeLibrary.GetExport(libc, "abs");

        int first = Libc.CurrentSignalRealTimeMin() + FirstOffsetFromRealTimeMin;
        int last = Libc.CurrentSignalRealTimeMax();
        for (int signal = first; signal <= last; signal++)
        {
            Sigaction current = default;

            // Safety: current is a local struct of glibc's sigaction size; a null action only queries.
            if (Libc.SignalAction(signal, null, &current) != 0 || current.Handler != 0 || (current.Flags & Sigaction.FlagSigInfo) != 0)
            {
                continue;
            }

            Sigaction action = default;
            action.Handler = noOpHandler;
            action.Flags = 0;

            // Safety: action is a fully initialized local struct; the previous action (the default) is not needed.
            if (Libc.SignalAction(signal, &action, null) == 0)
            {
                return signal;
            }
        }

        throw new KvmUnavailableException(
            $"No free real-time signal between {first} and {last} to interrupt vCPUs with; something else in this process has taken them all.");
    }
}
