using System.Buffers.Binary;
using System.Text;
using Vessel.Core.Memory;
using Vessel.Devices.Io;
using Vessel.Devices.Tests.Fakes;
using Vessel.Devices.Virtio.Block;

namespace Vessel.Devices.Tests.Virtio;

public sealed class VirtioBlockDeviceTests : IDisposable
{
    private const int DiskSize = 64 * 1024;
    private const ulong Capacity = DiskSize / VirtioBlockDevice.SectorSize;

    private readonly InMemoryBlockBackend disk;
    private readonly VirtioTestBench bench;

    public VirtioBlockDeviceTests()
        : this(readOnly: false)
    {
    }

    private VirtioBlockDeviceTests(bool readOnly, IIoScheduler? scheduler = null)
    {
        disk = new InMemoryBlockBackend(DiskSize, readOnly);
        for (int index = 0; index < DiskSize; index++)
        {
            disk.Data[index] = (byte)((index * 7) + (index >> 9));
        }

        bench = new VirtioTestBench(new VirtioBlockDevice(disk, "vessel-disk-0", new RecordingMachineLog()), scheduler);
    }

    private VirtioTestDriver Driver => bench.Driver;

    public void Dispose() => bench.Dispose();

    [Fact]
    public void The_configuration_space_reports_the_capacity_and_sector_size()
    {
        Driver.Start();

        Assert.Equal(Capacity, BinaryPrimitives.ReadUInt64LittleEndian(Driver.ReadDeviceConfiguration(0, 8)));
        Assert.Equal(512u, BinaryPrimitives.ReadUInt32LittleEndian(Driver.ReadDeviceConfiguration(0x14, 4)));
        ulong features = Driver.ReadDeviceFeatures();
        Assert.Equal(0UL, features & BlockFeature.ReadOnly);
        Assert.NotEqual(0UL, features & BlockFeature.Flush);
        Assert.NotEqual(0UL, features & BlockFeature.Discard);
        Assert.NotEqual(0UL, features & BlockFeature.WriteZeroes);
    }

    [Fact]
    public void A_read_copies_the_sectors_into_the_guest_buffers()
    {
        Driver.Start();
        var first = Driver.Allocate(512, fill: 0xEE);
        var second = Driver.Allocate(1024, fill: 0xEE);

        var (status, used) = Submit(BlockRequestType.In, 3, readable: [], writable: [(first, 512), (second, 1024)]);

        Assert.Equal(BlockRequestStatus.Ok, status);
        Assert.Equal(1536u + 1, used);
        Assert.Equal(disk.Data.AsSpan(3 * 512, 512).ToArray(), bench.Memory.GetSpan(first, 512).ToArray());
        Assert.Equal(disk.Data.AsSpan(4 * 512, 1024).ToArray(), bench.Memory.GetSpan(second, 1024).ToArray());
    }

    [Fact]
    public void A_write_lands_in_the_backend()
    {
        Driver.Start();
        var data = Enumerable.Range(0, 1024).Select(index => (byte)(255 - (index % 251))).ToArray();
        var buffer = Driver.Allocate(data);

        var (status, used) = Submit(BlockRequestType.Out, Capacity - 2, readable: [(buffer, 1024)], writable: []);

        Assert.Equal(BlockRequestStatus.Ok, status);
        Assert.Equal(1u, used);
        Assert.Equal(data, disk.Data.AsSpan(DiskSize - 1024, 1024).ToArray());
    }

    [Fact]
    public void A_write_whose_header_and_data_share_one_descriptor_is_served()
    {
        Driver.Start();
        var request = new byte[16 + 512];
        BinaryPrimitives.WriteUInt32LittleEndian(request, (uint)BlockRequestType.Out);
        BinaryPrimitives.WriteUInt64LittleEndian(request.AsSpan(8), 1);
        request.AsSpan(16).Fill(0x5A);
        var buffer = Driver.Allocate(request);
        var statusByte = Driver.Allocate(1, fill: 0xFF);
        var queue = Driver.Queues[0];

        queue.AddChain((buffer, (uint)request.Length, false), (statusByte, 1, true));
        Driver.Notify(0);

        Assert.Equal((byte)BlockRequestStatus.Ok, bench.Memory.Read<byte>(statusByte));
        Assert.All(disk.Data.AsSpan(512, 512).ToArray(), value => Assert.Equal(0x5A, value));
    }

    [Fact]
    public void A_read_of_seg_max_segments_in_one_indirect_table_as_large_as_the_queue_is_served()
    {
        // Linux builds exactly this for a request with seg_max (queue size - 2) segments: header, segments, status.
        Driver.Start(Vessel.Devices.Virtio.VirtioFeature.RingIndirectDescriptors, size: 256);
        uint segMax = BinaryPrimitives.ReadUInt32LittleEndian(Driver.ReadDeviceConfiguration(0x0C, 4));
        Assert.Equal(254u, segMax);
        var queue = Driver.Queues[0];
        var table = Driver.Allocate(256 * TestVirtqueue.DescriptorSize);
        var header = Driver.Allocate(Header(BlockRequestType.In, 0));
        var statusByte = Driver.Allocate(1, fill: 0xFF);
        var segments = new GuestAddress[segMax];
        queue.SetIndirectDescriptor(table, 0, header.Value, 16, Vessel.Devices.Virtio.Queues.DescriptorFlags.Next, 1);
        for (int index = 0; index < segMax; index++)
        {
            segments[index] = Driver.Allocate(256 + 16, fill: 0xEE);
            queue.SetIndirectDescriptor(table, index + 1, segments[index].Value, 256, Vessel.Devices.Virtio.Queues.DescriptorFlags.Write | Vessel.Devices.Virtio.Queues.DescriptorFlags.Next, (ushort)(index + 2));
        }

        queue.SetIndirectDescriptor(table, 255, statusByte.Value, 1, Vessel.Devices.Virtio.Queues.DescriptorFlags.Write);
        queue.SetDescriptor(0, table.Value, 256 * TestVirtqueue.DescriptorSize, Vessel.Devices.Virtio.Queues.DescriptorFlags.Indirect);
        queue.Publish(0);

        Driver.Notify(0);

        Assert.Equal(0, (int)(Driver.Status & Vessel.Devices.Virtio.VirtioDeviceStatus.DeviceNeedsReset));
        Assert.Equal((byte)BlockRequestStatus.Ok, bench.Memory.Read<byte>(statusByte));
        Assert.Equal((0u, (254u * 256) + 1), Assert.Single(queue.TakeUsed()));
        Assert.Equal(disk.Data.AsSpan(253 * 256, 256).ToArray(), bench.Memory.GetSpan(segments[253], 256).ToArray());
    }

    [Fact]
    public void A_flush_flushes_the_backend()
    {
        Driver.Start();

        var (status, _) = Submit(BlockRequestType.Flush, 0, readable: [], writable: []);

        Assert.Equal(BlockRequestStatus.Ok, status);
        Assert.Equal(1, disk.Flushes);
    }

    [Fact]
    public void Get_id_returns_the_identifier_padded_with_zeroes()
    {
        Driver.Start();
        var buffer = Driver.Allocate(VirtioBlockDevice.IdentifierLength, fill: 0xAA);

        var (status, used) = Submit(BlockRequestType.GetId, 0, readable: [], writable: [(buffer, VirtioBlockDevice.IdentifierLength)]);

        Assert.Equal(BlockRequestStatus.Ok, status);
        Assert.Equal((uint)VirtioBlockDevice.IdentifierLength + 1, used);
        var expected = new byte[VirtioBlockDevice.IdentifierLength];
        Encoding.ASCII.GetBytes("vessel-disk-0", expected);
        Assert.Equal(expected, bench.Memory.GetSpan(buffer, VirtioBlockDevice.IdentifierLength).ToArray());
    }

    [Fact]
    public void Discard_hands_each_segment_to_the_backend()
    {
        Driver.Start();
        var segments = Driver.Allocate(Segments((2, 4, 0), (100, 1, 0)));

        var (status, _) = Submit(BlockRequestType.Discard, 0, readable: [(segments, 32)], writable: []);

        Assert.Equal(BlockRequestStatus.Ok, status);
        Assert.Equal([(1024UL, 2048UL), (51200UL, 512UL)], disk.Discards);
        Assert.All(disk.Data.AsSpan(1024, 2048).ToArray(), value => Assert.Equal(0, value));
    }

    [Fact]
    public void Write_zeroes_zeroes_the_range_and_passes_the_unmap_flag()
    {
        Driver.Start();
        var segments = Driver.Allocate(Segments((8, 2, 1)));

        var (status, _) = Submit(BlockRequestType.WriteZeroes, 0, readable: [(segments, 16)], writable: []);

        Assert.Equal(BlockRequestStatus.Ok, status);
        Assert.Equal([(4096UL, 1024UL, true)], disk.ZeroedRanges);
        Assert.All(disk.Data.AsSpan(4096, 1024).ToArray(), value => Assert.Equal(0, value));
    }

    [Fact]
    public void Discard_with_the_unmap_flag_is_unsupported()
    {
        Driver.Start();
        var segments = Driver.Allocate(Segments((8, 2, 1)));

        var (status, _) = Submit(BlockRequestType.Discard, 0, readable: [(segments, 16)], writable: []);

        Assert.Equal(BlockRequestStatus.Unsupported, status);
        Assert.Empty(disk.Discards);
    }

    [Fact]
    public void Discard_without_segments_or_with_a_partial_segment_is_an_io_error()
    {
        Driver.Start();
        var partial = Driver.Allocate(Segments((8, 2, 0)));

        Assert.Equal(BlockRequestStatus.IoError, Submit(BlockRequestType.Discard, 0, readable: [], writable: []).Status);
        Assert.Equal(BlockRequestStatus.IoError, Submit(BlockRequestType.Discard, 0, readable: [(partial, 12)], writable: []).Status);
        Assert.Empty(disk.Discards);
    }

    [Theory]
    [InlineData(Capacity, 1)]
    [InlineData(Capacity - 1, 2)]
    [InlineData(ulong.MaxValue, 1)]
    [InlineData(ulong.MaxValue / 512, 1)]
    public void Reads_and_writes_past_the_end_of_the_disk_are_io_errors(ulong sector, int sectors)
    {
        Driver.Start();
        var before = disk.Data.ToArray();
        var buffer = Driver.Allocate(sectors * 512, fill: 0xEE);

        var read = Submit(BlockRequestType.In, sector, readable: [], writable: [(buffer, (uint)(sectors * 512))]);
        var write = Submit(BlockRequestType.Out, sector, readable: [(buffer, (uint)(sectors * 512))], writable: []);

        Assert.Equal(BlockRequestStatus.IoError, read.Status);
        Assert.Equal(BlockRequestStatus.IoError, write.Status);
        Assert.Equal(before, disk.Data);
    }

    [Fact]
    public void Discard_past_the_end_of_the_disk_is_refused()
    {
        Driver.Start();
        var segments = Driver.Allocate(Segments((Capacity - 1, 2, 0)));

        var (status, _) = Submit(BlockRequestType.Discard, 0, readable: [(segments, 16)], writable: []);

        Assert.NotEqual(BlockRequestStatus.Ok, status);
        Assert.Empty(disk.Discards);
    }

    [Theory]
    [InlineData(100)]
    [InlineData(513)]
    public void Data_lengths_that_are_not_whole_sectors_are_io_errors(int length)
    {
        Driver.Start();
        var before = disk.Data.ToArray();
        var buffer = Driver.Allocate(length, fill: 0xEE);

        var read = Submit(BlockRequestType.In, 0, readable: [], writable: [(buffer, (uint)length)]);
        var write = Submit(BlockRequestType.Out, 0, readable: [(buffer, (uint)length)], writable: []);

        Assert.Equal(BlockRequestStatus.IoError, read.Status);
        Assert.Equal(BlockRequestStatus.IoError, write.Status);
        Assert.Equal(before, disk.Data);
        Assert.All(bench.Memory.GetSpan(buffer, length).ToArray(), value => Assert.Equal(0xEE, value));
    }

    [Fact]
    public void A_read_only_disk_offers_ro_and_refuses_writes_discards_and_write_zeroes()
    {
        using var test = new VirtioBlockDeviceTests(readOnly: true);
        test.Driver.Start();
        var before = test.disk.Data.ToArray();
        var buffer = test.Driver.Allocate(512, fill: 1);
        var segments = test.Driver.Allocate(Segments((0, 1, 0)));

        ulong features = test.Driver.ReadDeviceFeatures();
        var write = test.Submit(BlockRequestType.Out, 0, readable: [(buffer, 512)], writable: []);
        var discard = test.Submit(BlockRequestType.Discard, 0, readable: [(segments, 16)], writable: []);
        var zeroes = test.Submit(BlockRequestType.WriteZeroes, 0, readable: [(segments, 16)], writable: []);
        var read = test.Submit(BlockRequestType.In, 0, readable: [], writable: [(buffer, 512)]);

        Assert.NotEqual(0UL, features & BlockFeature.ReadOnly);
        Assert.Equal(0UL, features & (BlockFeature.Discard | BlockFeature.WriteZeroes));
        Assert.Equal(BlockRequestStatus.IoError, write.Status);
        Assert.NotEqual(BlockRequestStatus.Ok, discard.Status);
        Assert.NotEqual(BlockRequestStatus.Ok, zeroes.Status);
        Assert.Equal(BlockRequestStatus.Ok, read.Status);
        Assert.Equal(before, test.disk.Data);
        Assert.Empty(test.disk.Discards);
        Assert.Empty(test.disk.ZeroedRanges);
    }

    [Fact]
    public void An_unknown_request_type_is_unsupported()
    {
        Driver.Start();
        var buffer = Driver.Allocate(512);

        var (status, _) = Submit((BlockRequestType)99, 0, readable: [], writable: [(buffer, 512)]);

        Assert.Equal(BlockRequestStatus.Unsupported, status);
    }

    [Fact]
    public void A_host_io_failure_is_an_io_error_for_the_guest_and_the_device_keeps_working()
    {
        Driver.Start();
        var buffer = Driver.Allocate(512);
        disk.Failure = new IOException("Input/output error");

        var failed = Submit(BlockRequestType.In, 0, readable: [], writable: [(buffer, 512)]);
        var flush = Submit(BlockRequestType.Flush, 0, readable: [], writable: []);
        disk.Failure = null;
        var retried = Submit(BlockRequestType.In, 0, readable: [], writable: [(buffer, 512)]);

        Assert.Equal(BlockRequestStatus.IoError, failed.Status);
        Assert.Equal(BlockRequestStatus.IoError, flush.Status);
        Assert.Equal(BlockRequestStatus.Ok, retried.Status);
        Assert.Equal(0, (int)(Driver.Status & Vessel.Devices.Virtio.VirtioDeviceStatus.DeviceNeedsReset));
    }

    [Fact]
    public void A_request_too_short_for_its_header_is_an_io_error()
    {
        Driver.Start();
        var header = Driver.Allocate(8);
        var statusByte = Driver.Allocate(1, fill: 0xFF);

        Driver.Queues[0].AddChain((header, 8, false), (statusByte, 1, true));
        Driver.Notify(0);

        Assert.Equal((byte)BlockRequestStatus.IoError, bench.Memory.Read<byte>(statusByte));
        Assert.Single(Driver.Queues[0].TakeUsed());
    }

    [Fact]
    public void A_request_without_a_writable_status_byte_is_returned_unanswered()
    {
        Driver.Start();
        var header = Driver.Allocate(Header(BlockRequestType.In, 0));

        Driver.Queues[0].AddChain((header, 16, false));
        Driver.Notify(0);

        Assert.Equal((0u, 0u), Assert.Single(Driver.Queues[0].TakeUsed()));
    }

    [Fact]
    public void Device_writes_into_guest_ram_mark_pages_dirty_and_reach_write_observers()
    {
        var observer = new RecordingWriteObserver();
        bench.Memory.AddWriteObserver(observer);
        Driver.Start();
        var buffer = Driver.Allocate(2 * GuestMemory.PageSize);
        var untouched = new GuestAddress(0xF0_0000);
        bench.Memory.TakeDirtyPages();

        var (status, _) = Submit(BlockRequestType.In, 0, readable: [], writable: [(buffer, 2 * GuestMemory.PageSize)]);

        Assert.Equal(BlockRequestStatus.Ok, status);
        Assert.True(bench.Memory.IsDirty(buffer));
        Assert.True(bench.Memory.IsDirty(buffer + GuestMemory.PageSize));
        Assert.False(bench.Memory.IsDirty(untouched));
        Assert.Contains(observer.Writes, write => write.Address <= buffer.Value && write.Address + write.Length >= buffer.Value + (2 * GuestMemory.PageSize));
        Assert.Contains(observer.Writes, write => write.Address == Driver.Queues[0].Used.Value);
        ulong[] dirty = bench.Memory.TakeDirtyPages();
        ulong page = buffer.Value / GuestMemory.PageSize;
        Assert.NotEqual(0UL, dirty[page / 64] & (1UL << (int)(page % 64)));
        Assert.False(bench.Memory.IsDirty(buffer));
    }

    [Fact]
    public void Requests_are_served_through_the_real_io_thread_and_completed_with_an_msi()
    {
        var log = new ConcurrentMachineLog();
        using var ioThread = new IoEventLoop(log, "vtests-io");
        using var test = new VirtioTestDriverOnThread(ioThread);
        var driver = test.Bench.Driver;
        driver.Start(size: 16, msix: true);
        var queue = driver.Queues[0];
        var buffers = new List<GuestAddress>();
        for (int request = 0; request < 4; request++)
        {
            var header = driver.Allocate(Header(BlockRequestType.In, (ulong)request));
            var buffer = driver.Allocate(512, fill: 0xEE);
            var statusByte = driver.Allocate(1, fill: 0xFF);
            queue.AddChain((header, 16, false), (buffer, 512, true), (statusByte, 1, true));
            buffers.Add(buffer);
        }

        driver.Notify(0);

        Assert.True(test.Bench.Msi.WaitForCount(1, TimeSpan.FromSeconds(30)), "no completion MSI within 30 s");
        Assert.True(SpinWait.SpinUntil(() => queue.UsedIndex == 4, TimeSpan.FromSeconds(30)));
        for (int request = 0; request < 4; request++)
        {
            Assert.Equal(test.Disk.Data.AsSpan(request * 512, 512).ToArray(), test.Bench.Memory.GetSpan(buffers[request], 512).ToArray());
        }

        Assert.All(test.Bench.Msi.Messages, message => Assert.Equal(0x31u, message.Data));
        Assert.Empty(log.Warnings);
    }

    private (BlockRequestStatus Status, uint UsedLength) Submit(
        BlockRequestType type,
        ulong sector,
        (GuestAddress Address, uint Length)[] readable,
        (GuestAddress Address, uint Length)[] writable)
    {
        var header = Driver.Allocate(Header(type, sector));
        var statusByte = Driver.Allocate(1, fill: 0xFF);
        var buffers = new List<(GuestAddress, uint, bool)> { (header, 16, false) };
        buffers.AddRange(readable.Select(buffer => (buffer.Address, buffer.Length, false)));
        buffers.AddRange(writable.Select(buffer => (buffer.Address, buffer.Length, true)));
        buffers.Add((statusByte, 1, true));
        var queue = Driver.Queues[0];
        ushort head = queue.AddChain([.. buffers]);

        Driver.Notify(0);

        var (id, length) = Assert.Single(queue.TakeUsed());
        Assert.Equal(head, id);
        return ((BlockRequestStatus)bench.Memory.Read<byte>(statusByte), length);
    }

    private static byte[] Header(BlockRequestType type, ulong sector)
    {
        var header = new byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)type);
        BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(8), sector);
        return header;
    }

    private static byte[] Segments(params (ulong Sector, uint Count, uint Flags)[] segments)
    {
        var bytes = new byte[16 * segments.Length];
        for (int index = 0; index < segments.Length; index++)
        {
            var at = bytes.AsSpan(16 * index);
            BinaryPrimitives.WriteUInt64LittleEndian(at, segments[index].Sector);
            BinaryPrimitives.WriteUInt32LittleEndian(at[8..], segments[index].Count);
            BinaryPrimitives.WriteUInt32LittleEndian(at[12..], segments[index].Flags);
        }

        return bytes;
    }

    private sealed class RecordingWriteObserver : IGuestMemoryWriteObserver
    {
        public List<(ulong Address, ulong Length)> Writes { get; } = [];

        public void OnExternalWrite(ulong physicalAddress, ulong length)
        {
            lock (Writes)
            {
                Writes.Add((physicalAddress, length));
            }
        }
    }

    private sealed class VirtioTestDriverOnThread : IDisposable
    {
        public VirtioTestDriverOnThread(IIoScheduler scheduler)
        {
            for (int index = 0; index < DiskSize; index++)
            {
                Disk.Data[index] = (byte)(index ^ (index >> 9));
            }

            Bench = new VirtioTestBench(new VirtioBlockDevice(Disk, "io-thread", new ConcurrentMachineLog()), scheduler);
        }

        public InMemoryBlockBackend Disk { get; } = new(DiskSize);

        public VirtioTestBench Bench { get; }

        public void Dispose() => Bench.Dispose();
    }
}
