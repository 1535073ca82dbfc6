namespace Vessel.Kvm.Interop;

/// <summary>KVM_CAP_* numbers for KVM_CHECK_EXTENSION (include/uapi/linux/kvm.h).</summary>
internal enum KvmCapability
{
    Irqchip = 0,
    Hlt = 1,
    UserMemory = 3,
    SetTssAddr = 4,
    ExtCpuid = 7,
    NrVcpus = 9,
    NrMemslots = 10,
    MpState = 14,
    IrqRouting = 25,
    Irqfd = 32,
    Pit2 = 33,
    PitState2 = 35,
    Ioeventfd = 36,
    SetIdentityMapAddr = 37,
    AdjustClock = 39,
    VcpuEvents = 41,
    Debugregs = 50,
    Xsave = 55,
    Xcrs = 56,
    MaxVcpus = 66,
    SignalMsi = 77,
    ImmediateExit = 136,
}
