using System.Runtime.InteropServices;

namespace Vessel.Kvm.Interop;

/// <summary>
/// struct kvm_run: the page a vCPU shares with the kernel through mmap. The kernel fills the exit fields when KVM_RUN
/// returns and reads back the in fields (and the data of an I/O or MMIO read) when it is called again.
/// The exit union starts at <see cref="ExitUnionOffset"/> and is 256 bytes; only the members x86 uses are declared.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 2352)]
internal struct KvmRun
{
    public const int ExitUnionOffset = 32;

    [FieldOffset(0)] public byte RequestInterruptWindow;

    /// <summary>When nonzero at the start of KVM_RUN, the kernel returns at once with EINTR (KVM_CAP_IMMEDIATE_EXIT).</summary>
    [FieldOffset(1)] public byte ImmediateExit;

    [FieldOffset(8)] public uint ExitReason;
    [FieldOffset(12)] public byte ReadyForInterruptInjection;
    [FieldOffset(13)] public byte IfFlag;
    [FieldOffset(14)] public ushort Flags;
    [FieldOffset(16)] public ulong Cr8;
    [FieldOffset(24)] public ulong ApicBase;

    /// <summary>hw: KVM_EXIT_UNKNOWN.</summary>
    [FieldOffset(ExitUnionOffset)] public KvmRunHardware Hw;

    /// <summary>fail_entry: KVM_EXIT_FAIL_ENTRY.</summary>
    [FieldOffset(ExitUnionOffset)] public KvmRunFailEntry FailEntry;

    /// <summary>io: KVM_EXIT_IO.</summary>
    [FieldOffset(ExitUnionOffset)] public KvmRunIo Io;

    /// <summary>mmio: KVM_EXIT_MMIO.</summary>
    [FieldOffset(ExitUnionOffset)] public KvmRunMmio Mmio;

    /// <summary>internal: KVM_EXIT_INTERNAL_ERROR.</summary>
    [FieldOffset(ExitUnionOffset)] public KvmRunInternal Internal;

    /// <summary>system_event: KVM_EXIT_SYSTEM_EVENT.</summary>
    [FieldOffset(ExitUnionOffset)] public KvmRunSystemEvent SystemEvent;

    [FieldOffset(288)] public ulong KvmValidRegs;
    [FieldOffset(296)] public ulong KvmDirtyRegs;
}
