namespace Vessel.Kvm.Interop;

/// <summary>KVM_IRQCHIP_*: the in-kernel interrupt controllers a routing entry can name.</summary>
internal enum KvmIrqchipId : uint
{
    PicMaster = 0,
    PicSlave = 1,
    Ioapic = 2,
}
