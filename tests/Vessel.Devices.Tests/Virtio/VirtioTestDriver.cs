using System.Buffers.Binary;
using Vessel.Core.Bus;
using Vessel.Core.Memory;
using Vessel.Devices.Pci;
using Vessel.Devices.Virtio;
using Vessel.Devices.Virtio.Queues;
using Vessel.Devices.Virtio.Transport;

namespace Vessel.Devices.Tests.Virtio;

/// <summary>
/// A small virtio 1.x PCI driver for tests, doing what Linux's virtio_pci_modern does: it programs the transport only through
/// BAR 0's registers and configuration space, lays its rings out in guest memory (<see cref="TestVirtqueue"/>), rings the
/// notify doorbell and reads the used ring.
/// </summary>
public sealed class VirtioTestDriver
{
    /// <summary>Where the driver puts queue n's rings: <see cref="RingBase"/> + n * <see cref="RingStride"/>.</summary>
    public static readonly GuestAddress RingBase = new(0x10_0000);

    public const ulong RingStride = 0x4_0000;

    /// <summary>Data buffers come from here up.</summary>
    public static readonly GuestAddress BufferBase = new(0x40_0000);

    private readonly IBusDevice bar;
    private ulong nextBuffer;

    public VirtioTestDriver(VirtioPciFunction function, GuestMemory memory, IBusDevice? bar = null)
    {
        Function = function;
        Memory = memory;
        this.bar = bar ?? function.Bar.Registers;
        nextBuffer = BufferBase.Value;
    }

    public VirtioPciFunction Function { get; }

    public GuestMemory Memory { get; }

    public Dictionary<int, TestVirtqueue> Queues { get; } = [];

    public VirtioDeviceStatus Status => (VirtioDeviceStatus)ReadCommon8(CommonConfigurationRegister.DeviceStatus);

    public byte ReadCommon8(int offset) => Read(VirtioPciFunction.CommonConfigurationOffset + (ulong)offset, 1)[0];

    public ushort ReadCommon16(int offset) => BinaryPrimitives.ReadUInt16LittleEndian(Read(VirtioPciFunction.CommonConfigurationOffset + (ulong)offset, 2));

    public uint ReadCommon32(int offset) => BinaryPrimitives.ReadUInt32LittleEndian(Read(VirtioPciFunction.CommonConfigurationOffset + (ulong)offset, 4));

    public ulong ReadCommon64(int offset) => BinaryPrimitives.ReadUInt64LittleEndian(Read(VirtioPciFunction.CommonConfigurationOffset + (ulong)offset, 8));

    public void WriteCommon8(int offset, byte value) => Write(VirtioPciFunction.CommonConfigurationOffset + (ulong)offset, [value]);

    public void WriteCommon16(int offset, ushort value)
    {
        Span<byte> bytes = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(bytes, value);
        Write(VirtioPciFunction.CommonConfigurationOffset + (ulong)offset, bytes);
    }

    public void WriteCommon32(int offset, uint value)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, value);
        Write(VirtioPciFunction.CommonConfigurationOffset + (ulong)offset, bytes);
    }

    /// <summary>64-bit queue addresses as two 32-bit writes, low half first, as Linux's vp_iowrite64_twopart does.</summary>
    public void WriteCommon64(int offset, ulong value)
    {
        WriteCommon32(offset, (uint)value);
        WriteCommon32(offset + 4, (uint)(value >> 32));
    }

    public void WriteStatus(VirtioDeviceStatus status) => WriteCommon8(CommonConfigurationRegister.DeviceStatus, (byte)status);

    public ulong ReadDeviceFeatures()
    {
        WriteCommon32(CommonConfigurationRegister.DeviceFeatureSelect, 0);
        ulong low = ReadCommon32(CommonConfigurationRegister.DeviceFeature);
        WriteCommon32(CommonConfigurationRegister.DeviceFeatureSelect, 1);
        ulong high = ReadCommon32(CommonConfigurationRegister.DeviceFeature);
        return low | (high << 32);
    }

    public void WriteDriverFeatures(ulong features)
    {
        WriteCommon32(CommonConfigurationRegister.DriverFeatureSelect, 0);
        WriteCommon32(CommonConfigurationRegister.DriverFeature, (uint)features);
        WriteCommon32(CommonConfigurationRegister.DriverFeatureSelect, 1);
        WriteCommon32(CommonConfigurationRegister.DriverFeature, (uint)(features >> 32));
    }

    /// <summary>§3.1.1 steps 1-6: reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK; true when the device kept FEATURES_OK.</summary>
    public bool Negotiate(ulong features)
    {
        WriteStatus(VirtioDeviceStatus.Reset);
        WriteStatus(VirtioDeviceStatus.Acknowledge);
        WriteStatus(VirtioDeviceStatus.Acknowledge | VirtioDeviceStatus.Driver);
        WriteDriverFeatures(features);
        WriteStatus(VirtioDeviceStatus.Acknowledge | VirtioDeviceStatus.Driver | VirtioDeviceStatus.FeaturesOk);
        return (Status & VirtioDeviceStatus.FeaturesOk) != 0;
    }

    /// <summary>Configures queue <paramref name="index"/> at its default place and enables it.</summary>
    public TestVirtqueue SetUpQueue(int index, ushort size, ushort vector = SplitVirtqueue.NoVector)
    {
        var queue = TestVirtqueue.At(Memory, size, RingBase + (RingStride * (ulong)index));
        WriteCommon16(CommonConfigurationRegister.QueueSelect, (ushort)index);
        WriteCommon16(CommonConfigurationRegister.QueueSize, size);
        WriteCommon16(CommonConfigurationRegister.QueueMsixVector, vector);
        WriteCommon64(CommonConfigurationRegister.QueueDescriptor, queue.Descriptors.Value);
        WriteCommon64(CommonConfigurationRegister.QueueDriver, queue.Available.Value);
        WriteCommon64(CommonConfigurationRegister.QueueDevice, queue.Used.Value);
        WriteCommon16(CommonConfigurationRegister.QueueEnable, 1);
        Queues[index] = queue;
        return queue;
    }

    public void DriverOk() =>
        WriteStatus(VirtioDeviceStatus.Acknowledge | VirtioDeviceStatus.Driver | VirtioDeviceStatus.FeaturesOk | VirtioDeviceStatus.DriverOk);

    /// <summary>Negotiates VERSION_1 plus <paramref name="extraFeatures"/>, sets up every queue with <paramref name="size"/>, sets DRIVER_OK.</summary>
    public void Start(ulong extraFeatures = 0, ushort size = 16, bool msix = false)
    {
        if (!Negotiate(VirtioFeature.Version1 | extraFeatures))
        {
            throw new InvalidOperationException("the device refused FEATURES_OK");
        }

        int count = ReadCommon16(CommonConfigurationRegister.QueueCount);
        if (msix)
        {
            EnableMsix();
            WriteCommon16(CommonConfigurationRegister.ConfigurationMsixVector, 0);
        }

        for (int index = 0; index < count; index++)
        {
            SetUpQueue(index, size, msix ? (ushort)(index + 1) : SplitVirtqueue.NoVector);
        }

        DriverOk();
    }

    /// <summary>Writes queue <paramref name="index"/>'s doorbell (notify_off_multiplier 4, notify_off = index).</summary>
    public void Notify(int index)
    {
        Span<byte> value = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(value, (ushort)index);
        Write(VirtioPciFunction.NotifyOffset + ((ulong)index * VirtioPciFunction.NotifyOffsetMultiplier), value);
    }

    public byte ReadInterruptStatus() => Read(VirtioPciFunction.InterruptStatusOffset, 1)[0];

    public byte[] ReadDeviceConfiguration(int offset, int length) => Read(VirtioPciFunction.DeviceConfigurationOffset + (ulong)offset, length);

    /// <summary>Turns MSI-X on through the capability's Message Control and programs every vector (address 0xFEE00000, data = 0x30 + n), unmasked.</summary>
    public void EnableMsix()
    {
        int capability = FindCapability(Function, MsixTable.CapabilityId);
        Span<byte> control = stackalloc byte[2];
        Function.ReadConfiguration(capability + 2, control);
        ushort value = (ushort)(BinaryPrimitives.ReadUInt16LittleEndian(control) | MsixTable.EnableBit);
        BinaryPrimitives.WriteUInt16LittleEndian(control, value);
        Function.WriteConfiguration(capability + 2, control);
        for (int vector = 0; vector < Function.Msix.VectorCount; vector++)
        {
            ProgramVector(vector, 0xFEE0_0000, (uint)(0x30 + vector), masked: false);
        }
    }

    public void ProgramVector(int vector, ulong address, uint data, bool masked)
    {
        Span<byte> entry = stackalloc byte[MsixTable.EntrySize];
        BinaryPrimitives.WriteUInt64LittleEndian(entry, address);
        BinaryPrimitives.WriteUInt32LittleEndian(entry[8..], data);
        BinaryPrimitives.WriteUInt32LittleEndian(entry[12..], masked ? 1u : 0u);
        Write(VirtioPciFunction.MsixTableOffset + ((ulong)vector * MsixTable.EntrySize), entry);
    }

    /// <summary>A guest buffer of <paramref name="length"/> bytes filled with <paramref name="fill"/>, 16-byte aligned.</summary>
    public GuestAddress Allocate(int length, byte fill = 0)
    {
        var address = new GuestAddress(nextBuffer);
        nextBuffer = (nextBuffer + (ulong)length + 15) & ~15UL;
        Memory.GetSpan(address, length).Fill(fill);
        return address;
    }

    public GuestAddress Allocate(ReadOnlySpan<byte> contents)
    {
        var address = Allocate(contents.Length);
        Memory.WriteBytes(address, contents);
        return address;
    }

    public byte[] Read(ulong offset, int length)
    {
        var data = new byte[length];
        bar.Read(offset, data);
        return data;
    }

    public void Write(ulong offset, ReadOnlySpan<byte> data) => bar.Write(offset, data);

    /// <summary>The offset of the first capability with <paramref name="id"/>, walking the list from 0x34.</summary>
    public static int FindCapability(PciFunction function, byte id)
    {
        Span<byte> bytes = stackalloc byte[2];
        function.ReadConfiguration(PciConfigurationRegister.CapabilitiesPointer, bytes[..1]);
        int offset = bytes[0];
        for (int walked = 0; offset != 0 && walked < 48; walked++)
        {
            function.ReadConfiguration(offset, bytes);
            if (bytes[0] == id)
            {
                return offset;
            }

            offset = bytes[1];
        }

        throw new InvalidOperationException($"no capability 0x{id:x2}");
    }
}
