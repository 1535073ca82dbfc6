namespace Vessel.Kvm.Interop;

/// <summary>Other numbers from include/uapi/linux/kvm.h and arch/x86/include/uapi/asm/kvm.h.</summary>
internal static class KvmConstants
{
    /// <summary>KVM_API_VERSION: the only version the stable API has ever had.</summary>
    public const int ApiVersion = 12;

    /// <summary>KVM_PIT_SPEAKER_DUMMY: the in-kernel PIT also answers the PC speaker port 0x61.</summary>
    public const uint PitSpeakerDummy = 1;

    /// <summary>KVM_APIC_REG_SIZE: bytes of the local APIC register page in kvm_lapic_state.</summary>
    public const int ApicRegisterSize = 0x400;

    /// <summary>KVM_NR_INTERRUPTS / 64: words of kvm_sregs.interrupt_bitmap.</summary>
    public const int InterruptBitmapWords = 4;

    /// <summary>KVM_MAX_XCRS.</summary>
    public const int MaxXcrs = 16;

    /// <summary>KVM_IOAPIC_NUM_PINS.</summary>
    public const int IoapicPins = 24;

    /// <summary>sizeof(struct kvm_xsave) without KVM_CAP_XSAVE2's extra: 1024 u32.</summary>
    public const int XsaveSize = 4096;

    /// <summary>KVM_MEM_LOG_DIRTY_PAGES: kvm_userspace_memory_region.flags bit that turns on the slot's dirty log.</summary>
    public const uint MemLogDirtyPages = 1;

    /// <summary>KVM_VCPUEVENT_VALID_NMI_PENDING, _SIPI_VECTOR, _SHADOW: which kvm_vcpu_events fields KVM_SET_VCPU_EVENTS applies.</summary>
    public const uint VcpuEventValidNmiPending = 1;
    public const uint VcpuEventValidSipiVector = 2;
    public const uint VcpuEventValidShadow = 4;
}
