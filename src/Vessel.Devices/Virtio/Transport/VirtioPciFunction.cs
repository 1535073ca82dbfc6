using System.Buffers.Binary;
using Vessel.Core.Accel;
using Vessel.Core.Bus;
using Vessel.Core.Interrupts;
using Vessel.Core.Logging;
using Vessel.Core.Memory;
using Vessel.Core.Snapshots;
using Vessel.Devices.Io;
using Vessel.Devices.Pci;
using Vessel.Devices.Virtio.Queues;

namespace Vessel.Devices.Virtio.Transport;

/// <summary>
/// The virtio 1.x PCI transport, modern interface only (virtio 1.2 §4.1): one 64-bit memory BAR holding the common
/// configuration, ISR status, device configuration and notification windows plus the MSI-X table and PBA, each announced
/// by a vendor-specific capability. Queue notifications are handed to the I/O thread without taking any lock, so a vCPU's
/// notify costs a queue insert; the device then runs there under the transport's lock, which register writes share.
/// Under KVM (<see cref="IKernelIoEvents"/>), each queue's doorbell is an ioeventfd the I/O thread waits on while the driver
/// is running, so a notify does not leave the kernel at all, and MSI-X vectors are irqfds (see <see cref="MsixTable"/>).
/// </summary>
public sealed class VirtioPciFunction : PciFunction, IVirtioDeviceContext, IDisposable
{
    public const ushort VirtioVendorId = 0x1AF4;

    /// <summary>Modern virtio devices are 0x1040 + the device type (§4.1.2.1).</summary>
    public const ushort ModernDeviceIdBase = 0x1040;

    public const ulong CommonConfigurationOffset = 0x0000;
    public const ulong InterruptStatusOffset = 0x1000;
    public const ulong DeviceConfigurationOffset = 0x2000;
    public const ulong NotifyOffset = 0x3000;
    public const ulong MsixTableOffset = 0x4000;
    public const ulong MsixPendingBitsOffset = 0x6000;
    public const ulong RegionSize = 0x1000;
    public const ulong BarSize = 0x8000;

    /// <summary>notify_off_multiplier: queue n's doorbell is at NotifyOffset + 4n.</summary>
    public const uint NotifyOffsetMultiplier = 4;

    /// <summary>§4.1.5.2: the driver notifies with a 16-bit write of the queue's index to its doorbell.</summary>
    public const int NotifyWriteLength = 2;

    /// <summary>The capability ID of vendor-specific capabilities, which virtio's structures use (§4.1.4).</summary>
    public const byte VendorSpecificCapabilityId = 0x09;

    /// <summary>ISR bit 0: a queue interrupt; bit 1: a configuration change (§4.1.4.5).</summary>
    private const int QueueInterruptBit = 1;
    private const int ConfigurationInterruptBit = 2;

    private const ulong TransportFeatures = VirtioFeature.Version1 | VirtioFeature.RingIndirectDescriptors | VirtioFeature.RingEventIndex;

    private readonly object stateLock = new();
    private readonly VirtioDevice device;
    private readonly SplitVirtqueue[] queues;
    private readonly QueueWork[] queueWork;
    private readonly IIoScheduler scheduler;
    private readonly IMachineLog log;
    private readonly MsixTable msix;
    private readonly int msixCapability;
    private readonly ulong offeredFeatures;
    private uint deviceFeatureSelect;
    private uint driverFeatureSelect;
    private ulong driverFeatures;
    private ushort configurationVector = SplitVirtqueue.NoVector;
    private ushort queueSelect;
    private VirtioDeviceStatus status;
    private byte configurationGeneration;
    private int interruptStatus;
    private bool reportedFailure;

    /// <summary>Kernel doorbells (ioeventfds), when the accelerator has them and the scheduler can watch descriptors.</summary>
    private readonly IKernelIoEvents? doorbellEvents;
    private readonly IIoDescriptorWatcher? watcher;

    /// <summary>The ioeventfd registrations now in place (under ConfigurationLock), and the BAR address they were made for.</summary>
    private Doorbell[] doorbells = [];
    private ulong? doorbellBase;
    private bool doorbellsRefused;
    private volatile bool driverReady;
    private volatile bool disposed;

    /// <summary>The kick and call eventfds the device's queues were handed to the host kernel with (under ConfigurationLock), or null.</summary>
    private (int[] Kicks, int[] Calls)? kernelDataPath;

    /// <summary>Set while the host kernel consumes the doorbells, so a doorbell wake-up already queued leaves their counts alone.</summary>
    private volatile bool kernelServesQueues;

    /// <param name="kernelIoEvents">
    /// The accelerator's in-kernel doorbells and MSI routes (KVM), or null to notify and interrupt through the buses and
    /// <paramref name="msiSink"/> (the software CPU). Doorbells also need a <paramref name="scheduler"/> that watches descriptors.
    /// </param>
    public VirtioPciFunction(VirtioDevice device, GuestMemory memory, IMsiSink msiSink, IIoScheduler scheduler, IMachineLog log, IKernelIoEvents? kernelIoEvents = null)
        : base(IdentityOf(device.Type))
    {
        this.device = device;
        this.scheduler = scheduler;
        this.log = log;
        Memory = memory;
        offeredFeatures = device.DeviceFeatures | TransportFeatures;
        queues = new SplitVirtqueue[device.QueueCount];
        queueWork = new QueueWork[device.QueueCount];
        for (int index = 0; index < queues.Length; index++)
        {
            queues[index] = new SplitVirtqueue(memory, device.MaximumQueueSize);
            queueWork[index] = new QueueWork(this, index);
        }

        msix = new MsixTable(device.QueueCount + 1, msiSink, kernelIoEvents);
        watcher = scheduler as IIoDescriptorWatcher;
        doorbellEvents = watcher != null ? kernelIoEvents : null;
        Bar = AddBar(0, BarSize, PciBarKind.Memory64, new Registers(this));

        AddVirtioCapability(VirtioPciCapabilityType.CommonConfiguration, CommonConfigurationOffset, CommonConfigurationRegister.Size);
        AddVirtioCapability(VirtioPciCapabilityType.Notify, NotifyOffset, (uint)(NotifyOffsetMultiplier * queues.Length), NotifyOffsetMultiplier);
        AddVirtioCapability(VirtioPciCapabilityType.InterruptStatus, InterruptStatusOffset, 1);
        AddVirtioCapability(VirtioPciCapabilityType.DeviceConfiguration, DeviceConfigurationOffset, (uint)Math.Max(device.ConfigurationSize, 1));
        var (body, writable) = msix.CapabilityBody(0, (uint)MsixTableOffset, 0, (uint)MsixPendingBitsOffset);
        msixCapability = AddCapability(MsixTable.CapabilityId, body, writable);
    }

    public VirtioDevice Device => device;

    /// <summary>BAR 0, where every virtio structure lives.</summary>
    public PciBar Bar { get; }

    public GuestMemory Memory { get; }

    public IReadOnlyList<SplitVirtqueue> Queues => queues;

    public ulong NegotiatedFeatures => driverFeatures;

    public VirtioDeviceStatus Status
    {
        get
        {
            lock (stateLock)
            {
                return status;
            }
        }
    }

    public MsixTable Msix => msix;

    /// <summary>The guest-physical addresses whose writes the kernel turns into doorbells now (empty when none are registered).</summary>
    public IReadOnlyList<GuestAddress> KernelDoorbells
    {
        get
        {
            lock (ConfigurationLock)
            {
                return [.. doorbells.Select(doorbell => doorbell.Address)];
            }
        }
    }

    /// <summary>A doorbell for <paramref name="queueIndex"/> rang (the notify window, or a KVM ioeventfd): serve it on the I/O thread.</summary>
    public void NotifyQueue(int queueIndex)
    {
        if ((uint)queueIndex < (uint)queueWork.Length)
        {
            scheduler.Schedule(queueWork[queueIndex]);
        }
    }

    public void NotifyUsed(int queueIndex)
    {
        ushort vector = queues[queueIndex].MsixVector;
        if (msix.Enabled)
        {
            if (vector != SplitVirtqueue.NoVector)
            {
                msix.Notify(vector);
            }

            return;
        }

        Interlocked.Or(ref interruptStatus, QueueInterruptBit);
        SetInterruptAsserted(true);
    }

    public void NotifyConfigurationChanged()
    {
        lock (stateLock)
        {
            configurationGeneration++;
        }

        if (msix.Enabled)
        {
            if (configurationVector != SplitVirtqueue.NoVector)
            {
                msix.Notify(configurationVector);
            }

            return;
        }

        Interlocked.Or(ref interruptStatus, ConfigurationInterruptBit);
        SetInterruptAsserted(true);
    }

    public void ScheduleQueue(int queueIndex) => NotifyQueue(queueIndex);

    public void Fail(string reason)
    {
        lock (stateLock)
        {
            if ((status & VirtioDeviceStatus.DeviceNeedsReset) != 0)
            {
                return;
            }

            status |= VirtioDeviceStatus.DeviceNeedsReset;
            if (!reportedFailure)
            {
                reportedFailure = true;
                log.Warn($"virtio-{device.Type}: the guest driver broke the protocol ({reason}); the device needs a reset (logged once).");
            }
        }

        NotifyConfigurationChanged();
    }

    /// <summary>Resets the device as a driver's write of 0 to device_status does (also used when the machine stops).</summary>
    public void ResetDevice()
    {
        lock (stateLock)
        {
            ResetLocked();
        }

        UpdateDoorbells();
    }

    /// <summary>Version of the transport's own fields; the configuration space, MSI-X table, queues and device carry their own.</summary>
    public override int StateVersion => 1;

    /// <summary>
    /// The MSI-X table, the configuration space, the common configuration (feature selects and negotiated features,
    /// status, queue select, configuration vector and generation, the ISR), each queue, and the device's own state.
    /// </summary>
    /// <remarks>
    /// Nothing is in flight: every device serves a request to completion (used ring and all) inside one queue service on
    /// the I/O thread, and a pause stops that thread between services. A doorbell that was scheduled but not yet served
    /// is not saved; restore serves every queue once instead, which finds anything the driver made available.
    /// </remarks>
    public override void SaveState(StateWriter writer)
    {
        lock (ConfigurationLock)
        {
            // The kernel moves the ring positions, and writes received frames into guest memory, while it serves the queues:
            // take them back before saving, so the saved positions are its and memory holds still. The queues stay here
            // afterwards (the next reset or restore hands them over again), since guest memory may be saved after this.
            StopKernelDataPathLocked();
            SaveStateLocked(writer);
        }
    }

    private void SaveStateLocked(StateWriter writer)
    {
        using (writer.BeginSection("msix", msix.StateVersion))
        {
            msix.SaveState(writer);
        }

        using (writer.BeginSection("pci", base.StateVersion))
        {
            SaveConfigurationState(writer);
        }

        lock (stateLock)
        {
            writer.WriteUInt32(deviceFeatureSelect);
            writer.WriteUInt32(driverFeatureSelect);
            writer.WriteUInt64(driverFeatures);
            writer.WriteUInt16(configurationVector);
            writer.WriteUInt16(queueSelect);
            writer.WriteByte((byte)status);
            writer.WriteByte(configurationGeneration);
            writer.WriteInt32(Volatile.Read(ref interruptStatus));
            writer.WriteBool(reportedFailure);
            writer.WriteBool(driverReady);
            writer.WriteInt32(queues.Length);
            for (int index = 0; index < queues.Length; index++)
            {
                using (writer.BeginSection($"queue {index}", queues[index].StateVersion))
                {
                    queues[index].SaveState(writer);
                }
            }

            if (device is IStateful stateful)
            {
                using (writer.BeginSection($"virtio-{device.Type}", stateful.StateVersion))
                {
                    stateful.SaveState(writer);
                }
            }
        }
    }

    /// <summary>
    /// Restores into a function built for the same device (guest memory already holding the snapshot's contents), then
    /// activates the device if the driver had, and serves every queue once when the I/O thread next runs.
    /// </summary>
    public override void RestoreState(StateReader reader, int version)
    {
        reader.RestoreSection("msix", msix);
        var configurationSection = reader.ReadSection("pci", base.StateVersion, out _);
        RestoreConfigurationState(configurationSection);
        configurationSection.ExpectEnd();

        lock (stateLock)
        {
            deviceFeatureSelect = reader.ReadUInt32();
            driverFeatureSelect = reader.ReadUInt32();
            driverFeatures = reader.ReadUInt64();
            configurationVector = ValidVector(reader.ReadUInt16());
            queueSelect = reader.ReadUInt16();
            status = (VirtioDeviceStatus)reader.ReadByte();
            configurationGeneration = reader.ReadByte();
            Volatile.Write(ref interruptStatus, reader.ReadInt32() & (QueueInterruptBit | ConfigurationInterruptBit));
            reportedFailure = reader.ReadBool();
            bool ready = reader.ReadBool();
            if ((status & VirtioDeviceStatus.FeaturesOk) != 0 && (driverFeatures & ~offeredFeatures) != 0)
            {
                throw new SnapshotFormatException(
                    $"virtio-{device.Type}: the guest's driver negotiated features 0x{driverFeatures:x} and this device offers only 0x{offeredFeatures:x} (a different network backend or disk mode?); restore with the machine the snapshot was taken on.");
            }

            int queueCount = reader.ReadInt32();
            if (queueCount != queues.Length)
            {
                throw reader.Malformed($"virtio-{device.Type} has {queueCount} queues in the snapshot and {queues.Length} here");
            }

            for (int index = 0; index < queues.Length; index++)
            {
                reader.RestoreSection($"queue {index}", queues[index]);
                if (queues[index].MsixVector != ValidVector(queues[index].MsixVector))
                {
                    throw reader.Malformed($"queue {index} uses MSI-X vector {queues[index].MsixVector} of {msix.VectorCount}");
                }
            }

            if (ready)
            {
                device.Activate(this);
            }

            if (device is IStateful stateful)
            {
                reader.RestoreSection($"virtio-{device.Type}", stateful);
            }

            driverReady = ready;
        }

        UpdateDoorbells();
        if (driverReady)
        {
            for (int index = 0; index < queues.Length; index++)
            {
                NotifyQueue(index);
            }
        }
    }

    /// <summary>Drops the kernel doorbells and MSI routes; the machine calls it after its I/O thread stopped.</summary>
    public void Dispose()
    {
        disposed = true;
        UpdateDoorbells();
        msix.Dispose();
    }

    protected override void OnBarPlaced(PciBar bar)
    {
        if (bar == Bar)
        {
            UpdateDoorbells();
        }
    }

    protected override void OnConfigurationWritten(int offset, int length)
    {
        int control = msixCapability + 2;
        if (offset < control + 2 && control < offset + length)
        {
            msix.SetControl(ReadWord(control));
        }
    }

    private static PciFunctionIdentity IdentityOf(VirtioDeviceType type)
    {
        var (baseClass, subClass) = type switch
        {
            VirtioDeviceType.Block => ((byte)0x01, (byte)0x00),
            VirtioDeviceType.Network => ((byte)0x02, (byte)0x00),
            VirtioDeviceType.Console => ((byte)0x07, (byte)0x80),
            VirtioDeviceType.Socket => ((byte)0x08, (byte)0x80),
            _ => ((byte)0x00, (byte)0xFF),
        };

        // Revision 1 marks a modern-only device (§4.1.2.1); the subsystem names the device type as QEMU's modern devices do.
        return new PciFunctionIdentity(
            VirtioVendorId,
            (ushort)(ModernDeviceIdBase + (ushort)type),
            baseClass,
            subClass,
            RevisionId: 1,
            SubsystemVendorId: VirtioVendorId,
            SubsystemId: (ushort)(0x40 + (ushort)type));
    }

    private void AddVirtioCapability(VirtioPciCapabilityType type, ulong offset, uint length, uint? notifyMultiplier = null)
    {
        // struct virtio_pci_cap after cap_vndr/cap_next: cap_len, cfg_type, bar, id, padding[2], offset, length (§4.1.4).
        var body = new byte[notifyMultiplier.HasValue ? 18 : 14];
        body[0] = (byte)(body.Length + 2);
        body[1] = (byte)type;
        body[2] = 0;
        BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(6), (uint)offset);
        BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(10), length);
        if (notifyMultiplier is { } multiplier)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(14), multiplier);
        }

        AddCapability(VendorSpecificCapabilityId, body, new byte[body.Length]);
    }

    private void ResetLocked()
    {
        if (status != VirtioDeviceStatus.Reset)
        {
            device.Reset();
        }

        status = VirtioDeviceStatus.Reset;
        driverReady = false;
        foreach (var queue in queues)
        {
            queue.Reset();
        }

        deviceFeatureSelect = driverFeatureSelect = 0;
        driverFeatures = 0;
        configurationVector = SplitVirtqueue.NoVector;
        queueSelect = 0;
        Interlocked.Exchange(ref interruptStatus, 0);
        SetInterruptAsserted(false);
    }

    private void WriteStatusLocked(VirtioDeviceStatus written)
    {
        if (written == VirtioDeviceStatus.Reset)
        {
            ResetLocked();
            return;
        }

        var adding = written & ~status;
        if ((adding & VirtioDeviceStatus.FeaturesOk) != 0)
        {
            // §2.2.2: a device refuses FEATURES_OK for features it did not offer; a modern-only device also needs VERSION_1.
            bool acceptable = (driverFeatures & ~offeredFeatures) == 0 && (driverFeatures & VirtioFeature.Version1) != 0;
            if (!acceptable)
            {
                written &= ~VirtioDeviceStatus.FeaturesOk;
            }
        }

        status = (status & VirtioDeviceStatus.DeviceNeedsReset) | written;
        if ((adding & VirtioDeviceStatus.DriverOk) != 0 && (status & VirtioDeviceStatus.FeaturesOk) != 0)
        {
            bool eventIndex = (driverFeatures & VirtioFeature.RingEventIndex) != 0;
            for (int index = 0; index < queues.Length; index++)
            {
                if (!queues[index].Activate(eventIndex))
                {
                    // §2.1.2: setting DEVICE_NEEDS_RESET comes with a configuration change notification, which Fail sends.
                    Fail($"queue {index}: {queues[index].Violation}");
                    return;
                }
            }

            device.Activate(this);
            driverReady = true;
            for (int index = 0; index < queues.Length; index++)
            {
                NotifyQueue(index);
            }
        }
    }

    private bool Running => (status & (VirtioDeviceStatus.DriverOk | VirtioDeviceStatus.DeviceNeedsReset | VirtioDeviceStatus.Failed)) == VirtioDeviceStatus.DriverOk;

    private void ServeQueue(int queueIndex)
    {
        lock (stateLock)
        {
            if (Running && queues[queueIndex].IsReady)
            {
                device.ProcessQueue(queueIndex);
            }
        }
    }

    private SplitVirtqueue? SelectedQueue => queueSelect < queues.Length ? queues[queueSelect] : null;

    private void ReadCommon(ulong offset, Span<byte> data)
    {
        Span<byte> image = stackalloc byte[CommonConfigurationRegister.Size];
        lock (stateLock)
        {
            var queue = SelectedQueue;
            ulong features = deviceFeatureSelect < 2 ? offeredFeatures >> (int)(32 * deviceFeatureSelect) : 0;
            ulong driverWord = driverFeatureSelect < 2 ? driverFeatures >> (int)(32 * driverFeatureSelect) : 0;
            BinaryPrimitives.WriteUInt32LittleEndian(image[CommonConfigurationRegister.DeviceFeatureSelect..], deviceFeatureSelect);
            BinaryPrimitives.WriteUInt32LittleEndian(image[CommonConfigurationRegister.DeviceFeature..], (uint)features);
            BinaryPrimitives.WriteUInt32LittleEndian(image[CommonConfigurationRegister.DriverFeatureSelect..], driverFeatureSelect);
            BinaryPrimitives.WriteUInt32LittleEndian(image[CommonConfigurationRegister.DriverFeature..], (uint)driverWord);
            BinaryPrimitives.WriteUInt16LittleEndian(image[CommonConfigurationRegister.ConfigurationMsixVector..], configurationVector);
            BinaryPrimitives.WriteUInt16LittleEndian(image[CommonConfigurationRegister.QueueCount..], (ushort)queues.Length);
            image[CommonConfigurationRegister.DeviceStatus] = (byte)status;
            image[CommonConfigurationRegister.ConfigurationGeneration] = configurationGeneration;
            BinaryPrimitives.WriteUInt16LittleEndian(image[CommonConfigurationRegister.QueueSelect..], queueSelect);
            if (queue != null)
            {
                BinaryPrimitives.WriteUInt16LittleEndian(image[CommonConfigurationRegister.QueueSize..], queue.Size);
                BinaryPrimitives.WriteUInt16LittleEndian(image[CommonConfigurationRegister.QueueMsixVector..], queue.MsixVector);
                BinaryPrimitives.WriteUInt16LittleEndian(image[CommonConfigurationRegister.QueueEnable..], queue.Enabled ? (ushort)1 : (ushort)0);
                BinaryPrimitives.WriteUInt16LittleEndian(image[CommonConfigurationRegister.QueueNotifyOffset..], queueSelect);
                BinaryPrimitives.WriteUInt64LittleEndian(image[CommonConfigurationRegister.QueueDescriptor..], queue.DescriptorTable.Value);
                BinaryPrimitives.WriteUInt64LittleEndian(image[CommonConfigurationRegister.QueueDriver..], queue.DriverArea.Value);
                BinaryPrimitives.WriteUInt64LittleEndian(image[CommonConfigurationRegister.QueueDevice..], queue.DeviceArea.Value);
                BinaryPrimitives.WriteUInt16LittleEndian(image[CommonConfigurationRegister.QueueNotifyData..], queueSelect);
            }
        }

        CopyOut(image, offset, data);
    }

    private void WriteCommon(ulong offset, ReadOnlySpan<byte> data)
    {
        if (offset + (ulong)data.Length > CommonConfigurationRegister.Size)
        {
            return;
        }

        Span<byte> image = stackalloc byte[CommonConfigurationRegister.Size];
        ReadCommon(0, image);
        data.CopyTo(image[(int)offset..]);
        int start = (int)offset;
        int end = start + data.Length;
        bool Touches(int field, int size) => field < end && start < field + size;
        bool statusWritten = false;

        lock (stateLock)
        {
            if (Touches(CommonConfigurationRegister.DeviceFeatureSelect, 4))
            {
                deviceFeatureSelect = BinaryPrimitives.ReadUInt32LittleEndian(image[CommonConfigurationRegister.DeviceFeatureSelect..]);
            }

            if (Touches(CommonConfigurationRegister.DriverFeatureSelect, 4))
            {
                driverFeatureSelect = BinaryPrimitives.ReadUInt32LittleEndian(image[CommonConfigurationRegister.DriverFeatureSelect..]);
            }

            // §2.2.2: features are fixed once FEATURES_OK is set.
            if (Touches(CommonConfigurationRegister.DriverFeature, 4) && driverFeatureSelect < 2 && (status & VirtioDeviceStatus.FeaturesOk) == 0)
            {
                int shift = (int)(32 * driverFeatureSelect);
                ulong word = BinaryPrimitives.ReadUInt32LittleEndian(image[CommonConfigurationRegister.DriverFeature..]);
                driverFeatures = (driverFeatures & ~(0xFFFF_FFFFUL << shift)) | (word << shift);
            }

            if (Touches(CommonConfigurationRegister.ConfigurationMsixVector, 2))
            {
                configurationVector = ValidVector(BinaryPrimitives.ReadUInt16LittleEndian(image[CommonConfigurationRegister.ConfigurationMsixVector..]));
            }

            if (Touches(CommonConfigurationRegister.DeviceStatus, 1))
            {
                WriteStatusLocked((VirtioDeviceStatus)image[CommonConfigurationRegister.DeviceStatus]);
                statusWritten = true;
            }

            if (Touches(CommonConfigurationRegister.QueueSelect, 2))
            {
                queueSelect = BinaryPrimitives.ReadUInt16LittleEndian(image[CommonConfigurationRegister.QueueSelect..]);
            }

            WriteQueueFields(image, Touches);
        }

        if (statusWritten)
        {
            UpdateDoorbells();
        }
    }

    /// <summary>
    /// Keeps one ioeventfd per queue at the BAR's notify window while the driver runs (DRIVER_OK since the last reset) and the
    /// BAR decodes; drops them on reset, on a move (then registers at the new place) and at teardown.
    /// </summary>
    private void UpdateDoorbells()
    {
        if (doorbellEvents == null || watcher == null)
        {
            return;
        }

        lock (ConfigurationLock)
        {
            ulong? wanted = driverReady && !disposed && !doorbellsRefused ? Bar.MappedAddress : null;
            if (wanted == doorbellBase)
            {
                return;
            }

            StopKernelDataPathLocked();
            DropDoorbellsLocked();
            if (wanted is { } barAddress)
            {
                RegisterDoorbellsLocked(barAddress);
                StartKernelDataPathLocked();

                // A doorbell rung during the swap was counted on a dropped eventfd or went through the bus: serve each queue once.
                for (int index = 0; index < queues.Length; index++)
                {
                    NotifyQueue(index);
                }
            }
        }
    }

    private void RegisterDoorbellsLocked(ulong barAddress)
    {
        var registered = new List<Doorbell>(queues.Length);
        try
        {
            for (int index = 0; index < queues.Length; index++)
            {
                var address = new GuestAddress(barAddress + NotifyOffset + (NotifyOffsetMultiplier * (ulong)index));
                var kernelEvent = doorbellEvents!.RegisterMmioWrite(address, NotifyWriteLength);
                var doorbell = new Doorbell(address, kernelEvent, new DoorbellWork(this, index, kernelEvent));
                registered.Add(doorbell);
                watcher!.Watch(kernelEvent.Descriptor, doorbell.Work);
            }
        }
        catch (Exception exception)
        {
            // The host refused a registration (out of I/O bus slots, a conflicting ioeventfd): the notify window on the MMIO
            // bus serves every doorbell, as it does on the software CPU.
            foreach (var doorbell in registered)
            {
                watcher!.Unwatch(doorbell.Event.Descriptor);
                doorbell.Event.Dispose();
            }

            doorbellsRefused = true;
            log.Warn($"virtio-{device.Type}: queue doorbells stay on the MMIO exit path: {exception.Message}");
            return;
        }

        doorbells = [.. registered];
        doorbellBase = barAddress;
    }

    /// <summary>
    /// Offers the device the host kernel's data path (vhost-net) over the doorbells just registered and each queue's MSI-X
    /// route; when it takes it, the I/O thread stops watching those doorbells, since the kernel now consumes them.
    /// </summary>
    private void StartKernelDataPathLocked()
    {
        if (doorbells.Length != queues.Length)
        {
            return;
        }

        var kicks = new int[queues.Length];
        var calls = new int[queues.Length];
        for (int index = 0; index < queues.Length; index++)
        {
            kicks[index] = doorbells[index].Event.Descriptor;
            if (msix.KernelRouteDescriptor(queues[index].MsixVector) is not { } call)
            {
                return;
            }

            calls[index] = call;
        }

        lock (stateLock)
        {
            if (!Running || !device.StartKernelDataPath(kicks, calls))
            {
                return;
            }
        }

        kernelServesQueues = true;
        foreach (var doorbell in doorbells)
        {
            // A notify rung while the queues changed hands was counted here or went to the bus: the kernel looks once itself.
            watcher!.Unwatch(doorbell.Event.Descriptor);
            doorbell.Event.Signal();
        }

        kernelDataPath = (kicks, calls);
    }

    /// <summary>Takes the queues back from the host kernel and watches their doorbells here again.</summary>
    private void StopKernelDataPathLocked()
    {
        if (kernelDataPath == null)
        {
            return;
        }

        lock (stateLock)
        {
            device.StopKernelDataPath();
        }

        kernelServesQueues = false;

        foreach (var doorbell in doorbells)
        {
            watcher!.Watch(doorbell.Event.Descriptor, doorbell.Work);
        }

        kernelDataPath = null;
    }

    private void DropDoorbellsLocked()
    {
        foreach (var doorbell in doorbells)
        {
            watcher!.Unwatch(doorbell.Event.Descriptor);
            doorbell.Event.Dispose();
        }

        doorbells = [];
        doorbellBase = null;
    }

    private void WriteQueueFields(ReadOnlySpan<byte> image, Func<int, int, bool> touches)
    {
        var queue = SelectedQueue;
        if (queue == null)
        {
            return;
        }

        if (touches(CommonConfigurationRegister.QueueMsixVector, 2))
        {
            queue.MsixVector = ValidVector(BinaryPrimitives.ReadUInt16LittleEndian(image[CommonConfigurationRegister.QueueMsixVector..]));
        }

        // §4.1.4.3.2: the driver configures a queue before enabling it and never changes it after; later writes are ignored.
        if (queue.Enabled)
        {
            return;
        }

        if (touches(CommonConfigurationRegister.QueueSize, 2))
        {
            queue.Size = BinaryPrimitives.ReadUInt16LittleEndian(image[CommonConfigurationRegister.QueueSize..]);
        }

        if (touches(CommonConfigurationRegister.QueueDescriptor, 8))
        {
            queue.DescriptorTable = new GuestAddress(BinaryPrimitives.ReadUInt64LittleEndian(image[CommonConfigurationRegister.QueueDescriptor..]));
        }

        if (touches(CommonConfigurationRegister.QueueDriver, 8))
        {
            queue.DriverArea = new GuestAddress(BinaryPrimitives.ReadUInt64LittleEndian(image[CommonConfigurationRegister.QueueDriver..]));
        }

        if (touches(CommonConfigurationRegister.QueueDevice, 8))
        {
            queue.DeviceArea = new GuestAddress(BinaryPrimitives.ReadUInt64LittleEndian(image[CommonConfigurationRegister.QueueDevice..]));
        }

        if (touches(CommonConfigurationRegister.QueueEnable, 2) && BinaryPrimitives.ReadUInt16LittleEndian(image[CommonConfigurationRegister.QueueEnable..]) == 1)
        {
            queue.Enable();
        }
    }

    /// <summary>§4.1.5.1.2: a vector the table lacks reads back as NO_VECTOR, which tells the driver the mapping failed.</summary>
    private ushort ValidVector(ushort vector) => vector < msix.VectorCount ? vector : SplitVirtqueue.NoVector;

    private byte ReadInterruptStatus()
    {
        // §4.1.4.5.1: reading the ISR clears it and de-asserts the INTx line.
        int value = Interlocked.Exchange(ref interruptStatus, 0);
        SetInterruptAsserted(false);
        return (byte)value;
    }

    private static void CopyOut(ReadOnlySpan<byte> source, ulong offset, Span<byte> data)
    {
        data.Clear();
        if (offset < (ulong)source.Length)
        {
            int count = (int)Math.Min((ulong)data.Length, (ulong)source.Length - offset);
            source.Slice((int)offset, count).CopyTo(data);
        }
    }

    private sealed class QueueWork(VirtioPciFunction owner, int queueIndex) : IoWork
    {
        public override void Run() => owner.ServeQueue(queueIndex);
    }

    /// <summary>A queue's ioeventfd became readable: consume the count (the loop is level-triggered) and serve the queue.</summary>
    private sealed class DoorbellWork(VirtioPciFunction owner, int queueIndex, IKernelIoEvent kernelEvent) : IoWork
    {
        public override void Run()
        {
            if (owner.kernelServesQueues)
            {
                return;
            }

            kernelEvent.Drain();
            owner.ServeQueue(queueIndex);
        }
    }

    private sealed record Doorbell(GuestAddress Address, IKernelIoEvent Event, DoorbellWork Work);

    /// <summary>BAR 0 as the bus sees it: each window dispatched to its structure.</summary>
    private sealed class Registers(VirtioPciFunction owner) : IBusDevice
    {
        public void Read(ulong offset, Span<byte> data)
        {
            ulong within = offset % RegionSize;
            switch (offset - within)
            {
                case CommonConfigurationOffset:
                    owner.ReadCommon(within, data);
                    break;
                case InterruptStatusOffset:
                    data.Clear();
                    if (within == 0 && data.Length > 0)
                    {
                        data[0] = owner.ReadInterruptStatus();
                    }

                    break;
                case DeviceConfigurationOffset:
                    data.Clear();
                    if (within + (ulong)data.Length <= (ulong)owner.device.ConfigurationSize)
                    {
                        lock (owner.stateLock)
                        {
                            owner.device.ReadConfiguration((int)within, data);
                        }
                    }

                    break;
                case MsixTableOffset:
                case MsixTableOffset + RegionSize:
                    owner.msix.Table.Read(offset - MsixTableOffset, data);
                    break;
                case MsixPendingBitsOffset:
                    owner.msix.PendingBits.Read(within, data);
                    break;
                default:
                    data.Clear();
                    break;
            }
        }

        public void Write(ulong offset, ReadOnlySpan<byte> data)
        {
            ulong within = offset % RegionSize;
            switch (offset - within)
            {
                case CommonConfigurationOffset:
                    owner.WriteCommon(within, data);
                    break;
                case DeviceConfigurationOffset:
                    if (within + (ulong)data.Length <= (ulong)owner.device.ConfigurationSize)
                    {
                        lock (owner.stateLock)
                        {
                            owner.device.WriteConfiguration((int)within, data);
                        }
                    }

                    break;
                case NotifyOffset:
                    owner.NotifyQueue((int)(within / NotifyOffsetMultiplier));
                    break;
                case MsixTableOffset:
                case MsixTableOffset + RegionSize:
                    owner.msix.Table.Write(offset - MsixTableOffset, data);
                    break;
            }
        }
    }
}
