using System.Runtime.InteropServices;

namespace Vessel.Kvm.Interop;

/// <summary>kvm_run.internal (KVM_EXIT_INTERNAL_ERROR): KVM could not go on; <see cref="Ndata"/> words of detail follow.</summary>
[StructLayout(LayoutKind.Sequential, Size = 136)]
internal unsafe struct KvmRunInternal
{
    public const int MaxData = 16;

    public uint Suberror;
    public uint Ndata;
    public fixed ulong Data[MaxData];

    public readonly ulong DataAt(int index)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)MaxData, nameof(index));

        // Safety: index was checked against the buffer's 16 elements above.
        return Data[index];
    }
}
