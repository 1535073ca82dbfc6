using System.Buffers.Binary;
using Vessel.Core.Memory;
using Vessel.Devices.Pci;
using Vessel.Devices.Tests.Fakes;
using Vessel.Devices.Virtio;
using Vessel.Devices.Virtio.Block;
using Vessel.Devices.Virtio.Console;
using Vessel.Devices.Virtio.Entropy;
using Vessel.Devices.Virtio.Queues;
using Vessel.Devices.Virtio.Transport;

namespace Vessel.Devices.Tests.Virtio;

/// <summary>
/// A hostile virtio driver driven by a seeded <see cref="Random"/>: each episode it may set the device up properly or not,
/// then takes random steps (register writes anywhere in BAR 0, MSI-X table and control writes, half-valid and garbage
/// descriptors, avail indexes and heads, doorbells, host input). After each episode it checks that the device either still
/// serves a well-formed request or has set DEVICE_NEEDS_RESET, and that after a reset it serves again.
/// </summary>
public sealed class VirtioFuzzer : IDisposable
{
    public const int StepsPerEpisode = 48;

    private const int DiskSize = 64 * 1024;
    private static readonly GuestAddress ProbeBuffer = new(0xE0_0000);

    private readonly Random random;
    private readonly VirtioDeviceType type;
    private readonly InMemoryBlockBackend disk = new(DiskSize);
    private readonly CountingSerialOutput output = new();
    private readonly VirtioConsoleDevice? console;
    private readonly VirtioTestBench bench;
    private readonly ulong memorySize;
    private bool gentle;

    public VirtioFuzzer(VirtioDeviceType type, int seed)
    {
        this.type = type;
        random = new Random(seed);
        VirtioDevice device = type switch
        {
            VirtioDeviceType.Block => new VirtioBlockDevice(disk, "fuzz", new RecordingMachineLog(), queueSize: 128),
            VirtioDeviceType.Entropy => new VirtioEntropyDevice(),
            VirtioDeviceType.Console => console = new VirtioConsoleDevice(output),
            _ => throw new ArgumentOutOfRangeException(nameof(type)),
        };

        memorySize = 16UL << 20;
        bench = new VirtioTestBench(device, memorySize: memorySize);
    }

    /// <summary>Episodes that ended with DEVICE_NEEDS_RESET, and that ended with the device still serving in place.</summary>
    public int EndedNeedingReset { get; private set; }

    public int EndedServing { get; private set; }

    private VirtioTestDriver Driver => bench.Driver;

    private int QueueCount => bench.Function.Queues.Count;

    public void Dispose() => bench.Dispose();

    /// <summary>One episode: a random set-up, <see cref="StepsPerEpisode"/> random steps, then the working-or-needs-reset check.</summary>
    public void RunEpisode()
    {
        disk.Failure = null;
        Driver.Queues.Clear();

        // Half the episodes are chaos (any register, any bytes); the other half a driver that sets the device up and then
        // mostly offers plausible chains with the odd bad one, so devices spend time serving, not only refusing.
        gentle = random.Next(2) == 0;
        if (gentle || random.Next(4) != 0)
        {
            RandomSetUp();
        }

        for (int step = 0; step < StepsPerEpisode; step++)
        {
            RandomStep();
        }

        disk.Failure = null;
        CheckWorkingOrNeedsReset();
        CheckServesAfterReset();
    }

    private void RandomSetUp()
    {
        ulong features = VirtioFeature.Version1;
        if (random.Next(2) == 0)
        {
            features |= VirtioFeature.RingEventIndex;
        }

        if (random.Next(2) == 0)
        {
            features |= VirtioFeature.RingIndirectDescriptors;
        }

        features |= Driver.ReadDeviceFeatures() & RandomUlong();
        if (random.Next(8) == 0)
        {
            features = RandomUlong();
        }

        if (!Driver.Negotiate(features))
        {
            return;
        }

        bool msix = random.Next(2) == 0;
        if (msix)
        {
            Driver.EnableMsix();
            Driver.WriteCommon16(CommonConfigurationRegister.ConfigurationMsixVector, (ushort)random.Next(-1, 4));
        }

        for (int index = 0; index < QueueCount; index++)
        {
            ushort size = (ushort)(1 << random.Next(0, 8));
            Driver.SetUpQueue(index, size, msix ? (ushort)random.Next(0, 4) : SplitVirtqueue.NoVector);
        }

        if (random.Next(8) != 0)
        {
            Driver.DriverOk();
        }
    }

    private void RandomStep()
    {
        if (gentle && random.Next(64) != 0)
        {
            GentleStep();
            return;
        }

        switch (random.Next(16))
        {
            case 0:
                WriteRandomRegister(VirtioPciFunction.CommonConfigurationOffset, CommonConfigurationRegister.Size + 4);
                break;
            case 1:
                Driver.WriteStatus((VirtioDeviceStatus)RandomStatus());
                break;
            case 2:
                WriteRandomRegister(VirtioPciFunction.MsixTableOffset, (bench.Function.Msix.VectorCount * MsixTable.EntrySize) + 8);
                break;
            case 3:
                WriteRandomRegister(VirtioPciFunction.DeviceConfigurationOffset, 0x40);
                _ = Driver.Read(VirtioPciFunction.DeviceConfigurationOffset + (ulong)random.Next(0x40), RandomWidth());
                break;
            case 4:
                WriteRandomRegister(0, (int)VirtioPciFunction.BarSize);
                _ = Driver.Read((ulong)random.Next((int)VirtioPciFunction.BarSize), RandomWidth());
                break;
            case 5:
                WriteRandomConfiguration();
                break;
            case 6:
            case 7:
                WriteRandomDescriptor();
                break;
            case 8:
            case 9:
                PublishRandomChain();
                break;
            case 10:
                MessWithRingIndexes();
                break;
            case 11:
            case 12:
                Driver.Notify(random.Next(QueueCount + 2));
                break;
            case 13:
                _ = Driver.ReadInterruptStatus();
                break;
            case 14:
                SprayRingMemory();
                break;
            default:
                DeviceSpecificStep();
                break;
        }
    }

    private void GentleStep()
    {
        switch (random.Next(8))
        {
            case 0:
            case 1:
            case 2:
                PublishRandomChain();
                break;
            case 3:
            case 4:
                Driver.Notify(random.Next(QueueCount));
                break;
            case 5:
                _ = Driver.ReadInterruptStatus();
                break;
            case 6:
                if (TryPickQueue(out var queue))
                {
                    queue.SetUsedEvent((ushort)(queue.AvailableIndex + random.Next(-2, 3)));
                }

                break;
            default:
                DeviceSpecificStep();
                break;
        }
    }

    private void WriteRandomRegister(ulong region, int span)
    {
        int width = RandomWidth();
        var value = new byte[width];
        random.NextBytes(value);
        if (random.Next(2) == 0)
        {
            // Small values hit queue_select, sizes, vectors and enable more often than random bytes would.
            Array.Clear(value);
            value[0] = (byte)random.Next(0, 20);
        }

        Driver.Write(region + (ulong)random.Next(span), value);
    }

    private void WriteRandomConfiguration()
    {
        var function = bench.Function;
        int msix = VirtioTestDriver.FindCapability(function, MsixTable.CapabilityId);
        var value = new byte[RandomWidth()];
        random.NextBytes(value);
        int offset = random.Next(3) switch
        {
            0 => msix + 2,
            1 => PciConfigurationRegister.Command,
            _ => random.Next(PciConfigurationRegister.ExtendedSize),
        };

        // Moving BAR 0 is the root complex's business (tested there); here the driver keeps reaching the registers directly.
        function.WriteConfiguration(offset, value);
    }

    private void WriteRandomDescriptor()
    {
        if (!TryPickQueue(out var queue))
        {
            return;
        }

        var flags = (DescriptorFlags)random.Next(8);
        int index = random.Next(queue.Size + 1);
        if (random.Next(4) == 0 && (flags & DescriptorFlags.Indirect) != 0)
        {
            var table = new GuestAddress(0x60_0000 + ((ulong)random.Next(64) * 0x100));
            int count = random.Next(1, 6);
            for (int entry = 0; entry < count; entry++)
            {
                queue.SetIndirectDescriptor(table, entry, RandomAddress(), RandomLength(), (DescriptorFlags)random.Next(8), (ushort)random.Next(count + 1));
            }

            queue.SetDescriptor(index % queue.Size, table.Value, (uint)(count * TestVirtqueue.DescriptorSize) + (uint)(random.Next(8) == 0 ? 8 : 0), flags);
            return;
        }

        queue.SetDescriptor(index % queue.Size, RandomAddress(), RandomLength(), flags, (ushort)random.Next(queue.Size + 2));
    }

    private void PublishRandomChain()
    {
        if (!TryPickQueue(out var queue))
        {
            return;
        }

        if (!gentle && random.Next(3) == 0)
        {
            queue.Publish((ushort)random.Next(queue.Size + 2));
            return;
        }

        int count = Math.Min(random.Next(1, 5), queue.Size);
        var buffers = new (GuestAddress, uint, bool)[count];
        bool writable = false;
        for (int index = 0; index < count; index++)
        {
            writable |= random.Next(3) == 0 || index == count - 1;
            buffers[index] = (RandomBufferAddress(), RandomLength(), writable ^ (!gentle && random.Next(16) == 0));
        }

        if (type == VirtioDeviceType.Block)
        {
            WriteBlockHeader(buffers[0].Item1);
        }

        queue.AddChain(buffers);
    }

    private void MessWithRingIndexes()
    {
        if (!TryPickQueue(out var queue))
        {
            return;
        }

        switch (random.Next(4))
        {
            case 0:
                queue.SetAvailableIndex((ushort)(queue.AvailableIndex + random.Next(-2, queue.Size + 3)));
                break;
            case 1:
                queue.SetAvailableFlags((ushort)random.Next(4));
                break;
            case 2:
                queue.SetUsedEvent((ushort)random.Next(0x10000));
                break;
            default:
                queue.SetAvailableIndex((ushort)random.Next(0x10000));
                break;
        }
    }

    private void SprayRingMemory()
    {
        var bytes = new byte[random.Next(1, 64)];
        random.NextBytes(bytes);
        ulong span = VirtioTestDriver.RingStride * (ulong)QueueCount;
        var at = VirtioTestDriver.RingBase + (ulong)random.NextInt64((long)span - bytes.Length);
        bench.Memory.WriteBytes(at, bytes);
    }

    private void DeviceSpecificStep()
    {
        switch (type)
        {
            case VirtioDeviceType.Block:
                disk.Failure = random.Next(4) == 0 ? new IOException("fuzzed host failure") : null;
                break;
            case VirtioDeviceType.Console:
                var input = new byte[random.Next(0, 300)];
                random.NextBytes(input);
                console!.EnqueueInput(input);
                break;
            default:
                Driver.Notify(0);
                break;
        }
    }

    private void WriteBlockHeader(GuestAddress at)
    {
        if (!bench.Memory.IsRam(at, 16))
        {
            return;
        }

        uint[] types = [0, 1, 4, 8, 11, 13, 2, 99, uint.MaxValue];
        var header = new byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(header, types[random.Next(types.Length)]);
        ulong capacity = DiskSize / 512;
        ulong sector = random.Next(4) switch
        {
            0 => (ulong)random.NextInt64(0, (long)capacity),
            1 => capacity - (ulong)random.Next(0, 3),
            2 => ulong.MaxValue - (ulong)random.Next(0, 3),
            _ => RandomUlong(),
        };
        BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(8), sector);
        bench.Memory.WriteBytes(at, header);
        if (random.Next(2) == 0 && bench.Memory.IsRam(at + 16, 16))
        {
            // A discard/write-zeroes segment after the header, sometimes valid.
            var segment = new byte[16];
            BinaryPrimitives.WriteUInt64LittleEndian(segment, (ulong)random.Next(0, (int)capacity + 4));
            BinaryPrimitives.WriteUInt32LittleEndian(segment.AsSpan(8), (uint)random.Next(0, 64));
            BinaryPrimitives.WriteUInt32LittleEndian(segment.AsSpan(12), (uint)random.Next(0, 3));
            bench.Memory.WriteBytes(at + 16, segment);
        }
    }

    /// <summary>
    /// The device must either have set DEVICE_NEEDS_RESET or still serve: when it is running with a ready queue, a well-formed
    /// chain placed at the device's next available slot comes back in the used ring.
    /// </summary>
    private void CheckWorkingOrNeedsReset()
    {
        var status = Driver.Status;
        if ((status & VirtioDeviceStatus.DeviceNeedsReset) != 0)
        {
            EndedNeedingReset++;
            return;
        }

        bool running = (status & (VirtioDeviceStatus.DriverOk | VirtioDeviceStatus.Failed | VirtioDeviceStatus.FeaturesOk)) == (VirtioDeviceStatus.DriverOk | VirtioDeviceStatus.FeaturesOk);
        int probeQueue = type == VirtioDeviceType.Console ? VirtioConsoleDevice.TransmitQueue : 0;
        var queue = bench.Function.Queues[probeQueue];
        if (!running || !queue.IsReady || queue.Size < 2)
        {
            return;
        }

        ushort before = queue.NextUsed;
        long outputBefore = output.Count;
        PlaceProbeChain(queue);
        Driver.Notify(probeQueue);

        if ((Driver.Status & VirtioDeviceStatus.DeviceNeedsReset) != 0)
        {
            throw new InvalidOperationException($"a well-formed chain broke a running {type} device: {queue.Violation}");
        }

        if ((ushort)(queue.NextUsed - before) != 1)
        {
            throw new InvalidOperationException($"a running {type} device did not serve a well-formed chain (used {before} -> {queue.NextUsed})");
        }

        if (type == VirtioDeviceType.Console && output.Count != outputBefore + 4)
        {
            throw new InvalidOperationException("the console did not transmit the probe's 4 bytes");
        }

        EndedServing++;
    }

    private void PlaceProbeChain(SplitVirtqueue queue)
    {
        var memory = bench.Memory;
        ushort size = queue.Size;
        ushort first = (ushort)random.Next(size);
        ushort second = (ushort)((first + 1) % size);
        ulong table = queue.DescriptorTable.Value;
        switch (type)
        {
            case VirtioDeviceType.Block:
                var header = new byte[16];
                BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)BlockRequestType.In);
                memory.WriteBytes(ProbeBuffer, header);
                WriteDescriptor(table, first, ProbeBuffer.Value, 16, DescriptorFlags.Next, second);
                WriteDescriptor(table, second, ProbeBuffer.Value + 0x100, 513, DescriptorFlags.Write, 0);
                break;
            case VirtioDeviceType.Console:
                memory.WriteBytes(ProbeBuffer, "ping"u8);
                WriteDescriptor(table, first, ProbeBuffer.Value, 4, DescriptorFlags.None, 0);
                break;
            default:
                WriteDescriptor(table, first, ProbeBuffer.Value, 64, DescriptorFlags.Write, 0);
                break;
        }

        // Whatever the fuzzer left between the device's position and avail->idx is dropped: the probe is the next entry.
        ushort slot = queue.NextAvailable;
        memory.Write(queue.DriverArea + 4 + (2UL * (ushort)(slot % size)), first);
        memory.Write(queue.DriverArea + 2, (ushort)(slot + 1));
    }

    private void CheckServesAfterReset()
    {
        Driver.WriteStatus(VirtioDeviceStatus.Reset);
        if (Driver.Status != VirtioDeviceStatus.Reset)
        {
            throw new InvalidOperationException($"the {type} device did not reset (status {Driver.Status})");
        }

        Driver.Queues.Clear();
        Driver.Start(size: 8);
        int probeQueue = type == VirtioDeviceType.Console ? VirtioConsoleDevice.TransmitQueue : 0;
        var queue = Driver.Queues[probeQueue];
        long outputBefore = output.Count;
        switch (type)
        {
            case VirtioDeviceType.Block:
                var header = new byte[16];
                bench.Memory.WriteBytes(ProbeBuffer, header);
                queue.AddChain((ProbeBuffer, 16, false), (ProbeBuffer + 0x100, 512, true), (ProbeBuffer + 0x400, 1, true));
                break;
            case VirtioDeviceType.Console:
                bench.Memory.WriteBytes(ProbeBuffer, "pong"u8);
                queue.AddChain((ProbeBuffer, 4, false));
                break;
            default:
                queue.AddChain((ProbeBuffer, 64, true));
                break;
        }

        Driver.Notify(probeQueue);
        if (queue.UsedIndex != 1 || (Driver.Status & VirtioDeviceStatus.DeviceNeedsReset) != 0)
        {
            throw new InvalidOperationException($"after a reset the {type} device did not serve a well-formed request (used {queue.UsedIndex}, status {Driver.Status})");
        }

        if (type == VirtioDeviceType.Block && bench.Memory.Read<byte>(ProbeBuffer + 0x400) != (byte)BlockRequestStatus.Ok)
        {
            throw new InvalidOperationException("after a reset a read of sector 0 did not succeed");
        }

        if (type == VirtioDeviceType.Console && output.Count != outputBefore + 4)
        {
            throw new InvalidOperationException("after a reset the console did not transmit");
        }

        Driver.WriteStatus(VirtioDeviceStatus.Reset);
    }

    private void WriteDescriptor(ulong table, ushort index, ulong address, uint length, DescriptorFlags flags, ushort next)
    {
        var descriptor = new byte[TestVirtqueue.DescriptorSize];
        BinaryPrimitives.WriteUInt64LittleEndian(descriptor, address);
        BinaryPrimitives.WriteUInt32LittleEndian(descriptor.AsSpan(8), length);
        BinaryPrimitives.WriteUInt16LittleEndian(descriptor.AsSpan(12), (ushort)flags);
        BinaryPrimitives.WriteUInt16LittleEndian(descriptor.AsSpan(14), next);
        bench.Memory.WriteBytes(new GuestAddress(table + ((ulong)index * TestVirtqueue.DescriptorSize)), descriptor);
    }

    /// <summary>Counts what the console transmits without keeping it (a fuzzed driver sends megabytes).</summary>
    private sealed class CountingSerialOutput : Vessel.Devices.Serial.ISerialOutput
    {
        public long Count { get; private set; }

        public void Write(ReadOnlySpan<byte> data) => Count += data.Length;

        public void Flush()
        {
        }
    }

    private bool TryPickQueue(out TestVirtqueue queue)
    {
        if (Driver.Queues.Count == 0)
        {
            queue = null!;
            return false;
        }

        queue = Driver.Queues.Values.ElementAt(random.Next(Driver.Queues.Count));
        return true;
    }

    private byte RandomStatus() => random.Next(4) switch
    {
        0 => 0,
        1 => (byte)(VirtioDeviceStatus.Acknowledge | VirtioDeviceStatus.Driver | VirtioDeviceStatus.FeaturesOk | VirtioDeviceStatus.DriverOk),
        2 => (byte)(VirtioDeviceStatus.Acknowledge | VirtioDeviceStatus.Driver | VirtioDeviceStatus.FeaturesOk),
        _ => (byte)random.Next(256),
    };

    private int RandomWidth() => 1 << random.Next(4);

    private ulong RandomUlong() => (ulong)random.NextInt64() ^ ((ulong)random.Next(2) << 63);

    /// <summary>Mostly buffers in RAM, sometimes at its end, in the MMIO hole, or anywhere.</summary>
    private ulong RandomAddress() => (gentle ? 7 : random.Next(8)) switch
    {
        0 => memorySize - (ulong)random.Next(0, 64),
        1 => GuestMemory.MmioHoleStart + (ulong)random.Next(0, 4096),
        2 => RandomUlong(),
        _ => RandomBufferAddress().Value,
    };

    private GuestAddress RandomBufferAddress() =>
        !gentle && random.Next(8) == 0 ? new GuestAddress(RandomAddress()) : VirtioTestDriver.BufferBase + ((ulong)random.Next(0, 0x8000) * 16);

    private uint RandomLength() => (gentle ? random.Next(3) switch { 0 => 0, 1 => 1, _ => 5 } : random.Next(6)) switch
    {
        0 => (uint)random.Next(0, 17),
        1 => (uint)(512 * random.Next(1, 9)),
        2 => (uint)(512 * random.Next(1, 9)) + 1,
        3 => (uint)random.NextInt64(0, 1L << 32),
        4 => (uint)random.Next(0, 1 << 22),
        _ => (uint)random.Next(0, 600),
    };
}
