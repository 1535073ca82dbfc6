using System.Buffers.Binary;
using Vessel.Core.Accel;

namespace Vessel.Kvm.Tests;

/// <summary>
/// Exits written into a buffer the way the kernel writes kvm_run (offsets from &lt;linux/kvm.h&gt;, spelled out here
/// independently of our structs), then dispatched.
/// </summary>
public sealed class KvmExitDispatcherTests
{
    // struct kvm_run offsets on x86-64.
    private const int ExitReasonOffset = 8;
    private const int UnionOffset = 32;
    private const int IoDirection = UnionOffset;
    private const int IoSize = UnionOffset + 1;
    private const int IoPort = UnionOffset + 2;
    private const int IoCount = UnionOffset + 4;
    private const int IoDataOffset = UnionOffset + 8;
    private const int MmioPhysAddr = UnionOffset;
    private const int MmioData = UnionOffset + 8;
    private const int MmioLen = UnionOffset + 16;
    private const int MmioIsWrite = UnionOffset + 20;

    // KVM_EXIT_* values.
    private const uint ExitIo = 2;
    private const uint ExitHlt = 5;
    private const uint ExitMmio = 6;
    private const uint ExitShutdown = 8;
    private const uint ExitFailEntry = 9;
    private const uint ExitIntr = 10;
    private const uint ExitInternalError = 17;
    private const uint ExitSystemEvent = 24;

    /// <summary>KVM_PIO_PAGE_OFFSET: the kernel puts port data one page into the mapping.</summary>
    private const int PioDataOffset = 4096;

    private readonly byte[] runArea = new byte[3 * 4096];
    private readonly RecordingVcpuIo io = new();

    [Fact]
    public void Port_write_with_count_greater_than_one_reaches_the_device_once_per_element()
    {
        WriteIo(direction: 1, size: 2, port: 0x1F0, count: 3);
        new byte[] { 0x11, 0x22, 0x33, 0x44, 0x55, 0x66 }.CopyTo(runArea, PioDataOffset);

        Assert.True(Dispatch(out _));

        Assert.Equal(3, io.Accesses.Count);
        Assert.All(io.Accesses, a => Assert.Equal(("out", 0x1F0UL), (a.Kind, a.Address)));
        Assert.Equal(new byte[] { 0x11, 0x22 }, io.Accesses[0].Data);
        Assert.Equal(new byte[] { 0x33, 0x44 }, io.Accesses[1].Data);
        Assert.Equal(new byte[] { 0x55, 0x66 }, io.Accesses[2].Data);
    }

    [Fact]
    public void Single_port_write_passes_its_byte()
    {
        WriteIo(direction: 1, size: 1, port: 0x3F8, count: 1);
        runArea[PioDataOffset] = (byte)'K';

        Assert.True(Dispatch(out _));

        var access = io.Accesses.Single();
        Assert.Equal(("out", 0x3F8UL), (access.Kind, access.Address));
        Assert.Equal(new byte[] { (byte)'K' }, access.Data);
    }

    [Fact]
    public void Port_read_results_land_at_data_offset_where_the_kernel_reads_them()
    {
        WriteIo(direction: 0, size: 4, port: 0xCFC, count: 1);

        Assert.True(Dispatch(out _));

        Assert.Equal(("in", 0xCFCUL), (io.Accesses.Single().Kind, io.Accesses.Single().Address));
        Assert.Equal(new byte[] { 0xA0, 0xA1, 0xA2, 0xA3 }, runArea.AsSpan(PioDataOffset, 4).ToArray());
    }

    [Fact]
    public void String_port_read_fills_every_element_in_order()
    {
        WriteIo(direction: 0, size: 1, port: 0x60, count: 4);

        Assert.True(Dispatch(out _));

        Assert.Equal(4, io.Accesses.Count);
        Assert.Equal(new byte[] { 0xA0, 0xA1, 0xA2, 0xA3 }, runArea.AsSpan(PioDataOffset, 4).ToArray());
    }

    [Fact]
    public void Port_access_reaching_past_the_mapping_is_a_failure_not_a_crash()
    {
        WriteIo(direction: 0, size: 4, port: 0x80, count: 4096);

        Assert.False(Dispatch(out VcpuExit exit));

        Assert.Equal(VcpuExitReason.Failure, exit.Reason);
        Assert.Contains("port 0x80", exit.Detail);
        Assert.Empty(io.Accesses);
    }

    [Fact]
    public void Mmio_write_passes_len_bytes_and_the_address()
    {
        WriteExitReason(ExitMmio);
        BinaryPrimitives.WriteUInt64LittleEndian(runArea.AsSpan(MmioPhysAddr), 0xFEC0_0010);
        new byte[] { 1, 2, 3, 4, 9, 9, 9, 9 }.CopyTo(runArea, MmioData);
        BinaryPrimitives.WriteUInt32LittleEndian(runArea.AsSpan(MmioLen), 4);
        runArea[MmioIsWrite] = 1;

        Assert.True(Dispatch(out _));

        var access = io.Accesses.Single();
        Assert.Equal(("mmio-write", 0xFEC0_0010UL), (access.Kind, access.Address));
        Assert.Equal(new byte[] { 1, 2, 3, 4 }, access.Data);
    }

    [Fact]
    public void Mmio_read_result_lands_in_kvm_run_mmio_data()
    {
        WriteExitReason(ExitMmio);
        BinaryPrimitives.WriteUInt64LittleEndian(runArea.AsSpan(MmioPhysAddr), 0xD000_0000);
        BinaryPrimitives.WriteUInt32LittleEndian(runArea.AsSpan(MmioLen), 2);
        runArea[MmioIsWrite] = 0;

        Assert.True(Dispatch(out _));

        Assert.Equal(("mmio-read", 0xD000_0000UL), (io.Accesses.Single().Kind, io.Accesses.Single().Address));
        Assert.Equal(new byte[] { 0xA0, 0xA1, 0, 0 }, runArea.AsSpan(MmioData, 4).ToArray());
    }

    [Fact]
    public void Mmio_access_longer_than_eight_bytes_is_a_failure()
    {
        WriteExitReason(ExitMmio);
        BinaryPrimitives.WriteUInt32LittleEndian(runArea.AsSpan(MmioLen), 16);

        Assert.False(Dispatch(out VcpuExit exit));

        Assert.Equal(VcpuExitReason.Failure, exit.Reason);
        Assert.Empty(io.Accesses);
    }

    [Fact]
    public void Hlt_ends_the_run_as_a_power_off()
    {
        WriteExitReason(ExitHlt);

        Assert.False(Dispatch(out VcpuExit exit));

        Assert.Equal(VcpuExitReason.PowerOff, exit.Reason);
        Assert.Contains("HLT", exit.Detail);
    }

    [Fact]
    public void Shutdown_exit_is_a_triple_fault_shutdown()
    {
        WriteExitReason(ExitShutdown);

        Assert.False(Dispatch(out VcpuExit exit));

        Assert.Equal(VcpuExitReason.Shutdown, exit.Reason);
        Assert.Contains("triple fault", exit.Detail);
    }

    [Theory]
    [InlineData(1u, VcpuExitReason.PowerOff)]
    [InlineData(2u, VcpuExitReason.Reset)]
    [InlineData(3u, VcpuExitReason.Failure)]
    [InlineData(99u, VcpuExitReason.Failure)]
    public void System_event_maps_shutdown_reset_and_crash(uint type, VcpuExitReason expected)
    {
        WriteExitReason(ExitSystemEvent);
        BinaryPrimitives.WriteUInt32LittleEndian(runArea.AsSpan(UnionOffset), type);

        Assert.False(Dispatch(out VcpuExit exit));

        Assert.Equal(expected, exit.Reason);
    }

    [Fact]
    public void Fail_entry_reports_the_hardware_reason_and_cpu()
    {
        WriteExitReason(ExitFailEntry);
        BinaryPrimitives.WriteUInt64LittleEndian(runArea.AsSpan(UnionOffset), 0x21);
        BinaryPrimitives.WriteUInt32LittleEndian(runArea.AsSpan(UnionOffset + 8), 7);

        Assert.False(Dispatch(out VcpuExit exit));

        Assert.Equal(VcpuExitReason.Failure, exit.Reason);
        Assert.Contains("hardware entry failure reason 0x21", exit.Detail);
        Assert.Contains("invalid guest state", exit.Detail);
        Assert.Contains("host CPU 7", exit.Detail);
    }

    [Fact]
    public void Internal_error_reports_the_suberror_and_its_data()
    {
        WriteExitReason(ExitInternalError);
        BinaryPrimitives.WriteUInt32LittleEndian(runArea.AsSpan(UnionOffset), 1);
        BinaryPrimitives.WriteUInt32LittleEndian(runArea.AsSpan(UnionOffset + 4), 2);
        BinaryPrimitives.WriteUInt64LittleEndian(runArea.AsSpan(UnionOffset + 8), 0xDEAD);
        BinaryPrimitives.WriteUInt64LittleEndian(runArea.AsSpan(UnionOffset + 16), 0xBEEF);

        Assert.False(Dispatch(out VcpuExit exit));

        Assert.Equal(VcpuExitReason.Failure, exit.Reason);
        Assert.Contains("suberror 1", exit.Detail);
        Assert.Contains("could not emulate", exit.Detail);
        Assert.Contains("0xdead 0xbeef", exit.Detail);
    }

    [Fact]
    public void Signal_interruption_re_enters_the_guest()
    {
        WriteExitReason(ExitIntr);

        Assert.True(Dispatch(out _));
        Assert.Empty(io.Accesses);
    }

    [Fact]
    public void Unhandled_exit_reason_is_a_failure_that_names_it()
    {
        WriteExitReason(4);

        Assert.False(Dispatch(out VcpuExit exit));

        Assert.Equal(VcpuExitReason.Failure, exit.Reason);
        Assert.Contains("reason 4", exit.Detail);
    }

    private bool Dispatch(out VcpuExit exit) => new KvmExitDispatcher(io).Dispatch(runArea, out exit);

    private void WriteExitReason(uint reason) => BinaryPrimitives.WriteUInt32LittleEndian(runArea.AsSpan(ExitReasonOffset), reason);

    private void WriteIo(byte direction, byte size, ushort port, uint count)
    {
        WriteExitReason(ExitIo);
        runArea[IoDirection] = direction;
        runArea[IoSize] = size;
        BinaryPrimitives.WriteUInt16LittleEndian(runArea.AsSpan(IoPort), port);
        BinaryPrimitives.WriteUInt32LittleEndian(runArea.AsSpan(IoCount), count);
        BinaryPrimitives.WriteUInt64LittleEndian(runArea.AsSpan(IoDataOffset), PioDataOffset);
    }
}
