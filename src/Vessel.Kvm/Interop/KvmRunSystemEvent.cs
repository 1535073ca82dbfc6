using System.Runtime.InteropServices;

namespace Vessel.Kvm.Interop;

/// <summary>kvm_run.system_event (KVM_EXIT_SYSTEM_EVENT): the guest asked for shutdown, reset, or reported a crash. data[0] doubles as the older "flags".</summary>
[StructLayout(LayoutKind.Sequential, Size = 136)]
internal unsafe struct KvmRunSystemEvent
{
    public const int MaxData = 16;

    public uint Type;
    public uint Ndata;
    public fixed ulong Data[MaxData];

    public readonly ulong DataAt(int index)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)MaxData, nameof(index));

        // Safety: index was checked against the buffer's 16 elements above.
        return Data[index];
    }
}
