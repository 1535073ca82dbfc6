namespace Vessel.Kvm.Interop;

/// <summary>
/// KVM ioctl request numbers, computed from the same _IO/_IOR/_IOW/_IOWR encoding and argument types as
/// include/uapi/linux/kvm.h; the layout tests compare each one with the header's own value.
/// </summary>
internal static class KvmIoctls
{
    /// <summary>KVMIO: the type byte of every KVM ioctl.</summary>
    public const byte Type = 0xAE;

    // System ioctls, on the /dev/kvm descriptor.
    public static readonly ulong GetApiVersion = IoctlNumber.Io(Type, 0x00);
    public static readonly ulong CreateVm = IoctlNumber.Io(Type, 0x01);
    public static readonly ulong CheckExtension = IoctlNumber.Io(Type, 0x03);
    public static readonly ulong GetVcpuMmapSize = IoctlNumber.Io(Type, 0x04);
    public static readonly ulong GetMsrIndexList = IoctlNumber.Iowr<KvmMsrList>(Type, 0x02);
    public static readonly ulong GetSupportedCpuid = IoctlNumber.Iowr<KvmCpuid2>(Type, 0x05);

    // VM ioctls.
    public static readonly ulong CreateVcpu = IoctlNumber.Io(Type, 0x41);
    public static readonly ulong SetUserMemoryRegion = IoctlNumber.Iow<KvmUserspaceMemoryRegion>(Type, 0x46);
    public static readonly ulong GetDirtyLog = IoctlNumber.Iow<KvmDirtyLog>(Type, 0x42);
    public static readonly ulong SetTssAddr = IoctlNumber.Io(Type, 0x47);
    public static readonly ulong SetIdentityMapAddr = IoctlNumber.Iow<ulong>(Type, 0x48);
    public static readonly ulong CreateIrqchip = IoctlNumber.Io(Type, 0x60);
    public static readonly ulong IrqLine = IoctlNumber.Iow<KvmIrqLevel>(Type, 0x61);
    public static readonly ulong GetIrqchip = IoctlNumber.Iowr<KvmIrqchip>(Type, 0x62);
    public static readonly ulong SetIrqchip = IoctlNumber.Ior<KvmIrqchip>(Type, 0x63);
    public static readonly ulong SetGsiRouting = IoctlNumber.Iow<KvmIrqRouting>(Type, 0x6a);
    public static readonly ulong Irqfd = IoctlNumber.Iow<KvmIrqfd>(Type, 0x76);
    public static readonly ulong CreatePit2 = IoctlNumber.Iow<KvmPitConfig>(Type, 0x77);
    public static readonly ulong Ioeventfd = IoctlNumber.Iow<KvmIoeventfd>(Type, 0x79);
    public static readonly ulong GetPit2 = IoctlNumber.Ior<KvmPitState2>(Type, 0x9f);
    public static readonly ulong SetPit2 = IoctlNumber.Iow<KvmPitState2>(Type, 0xa0);
    public static readonly ulong SetClock = IoctlNumber.Iow<KvmClockData>(Type, 0x7b);
    public static readonly ulong GetClock = IoctlNumber.Ior<KvmClockData>(Type, 0x7c);
    public static readonly ulong SignalMsi = IoctlNumber.Iow<KvmMsi>(Type, 0xa5);

    // vCPU ioctls.
    public static readonly ulong Run = IoctlNumber.Io(Type, 0x80);
    public static readonly ulong GetRegs = IoctlNumber.Ior<KvmRegs>(Type, 0x81);
    public static readonly ulong SetRegs = IoctlNumber.Iow<KvmRegs>(Type, 0x82);
    public static readonly ulong GetSregs = IoctlNumber.Ior<KvmSregs>(Type, 0x83);
    public static readonly ulong SetSregs = IoctlNumber.Iow<KvmSregs>(Type, 0x84);
    public static readonly ulong GetMsrs = IoctlNumber.Iowr<KvmMsrs>(Type, 0x88);
    public static readonly ulong SetMsrs = IoctlNumber.Iow<KvmMsrs>(Type, 0x89);
    public static readonly ulong GetFpu = IoctlNumber.Ior<KvmFpu>(Type, 0x8c);
    public static readonly ulong SetFpu = IoctlNumber.Iow<KvmFpu>(Type, 0x8d);
    public static readonly ulong GetLapic = IoctlNumber.Ior<KvmLapicState>(Type, 0x8e);
    public static readonly ulong SetLapic = IoctlNumber.Iow<KvmLapicState>(Type, 0x8f);
    public static readonly ulong SetCpuid2 = IoctlNumber.Iow<KvmCpuid2>(Type, 0x90);
    public static readonly ulong GetCpuid2 = IoctlNumber.Iowr<KvmCpuid2>(Type, 0x91);
    public static readonly ulong GetMpState = IoctlNumber.Ior<KvmMpState>(Type, 0x98);
    public static readonly ulong SetMpState = IoctlNumber.Iow<KvmMpState>(Type, 0x99);
    public static readonly ulong GetVcpuEvents = IoctlNumber.Ior<KvmVcpuEvents>(Type, 0x9f);
    public static readonly ulong SetVcpuEvents = IoctlNumber.Iow<KvmVcpuEvents>(Type, 0xa0);
    public static readonly ulong GetDebugregs = IoctlNumber.Ior<KvmDebugregs>(Type, 0xa1);
    public static readonly ulong SetDebugregs = IoctlNumber.Iow<KvmDebugregs>(Type, 0xa2);
    public static readonly ulong GetXsave = IoctlNumber.Ior<KvmXsave>(Type, 0xa4);
    public static readonly ulong SetXsave = IoctlNumber.Iow<KvmXsave>(Type, 0xa5);
    public static readonly ulong GetXcrs = IoctlNumber.Ior<KvmXcrs>(Type, 0xa6);
    public static readonly ulong SetXcrs = IoctlNumber.Iow<KvmXcrs>(Type, 0xa7);
}
