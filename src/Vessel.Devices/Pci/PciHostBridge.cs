namespace Vessel.Devices.Pci;

/// <summary>
/// Device 00.0, the host bridge itself (class 06/00). It has no registers beyond its header; Linux lists it in lspci as
/// QEMU's q35/gpex bridges appear. Red Hat's vendor ID 0x1B36 with device 0x0008 is what QEMU's generic PCIe host bridge uses.
/// </summary>
public sealed class PciHostBridge() : PciFunction(new PciFunctionIdentity(
    VendorId: 0x1B36,
    DeviceId: 0x0008,
    BaseClass: 0x06,
    SubClass: 0x00,
    SubsystemVendorId: 0x1AF4,
    SubsystemId: 0x1100));
