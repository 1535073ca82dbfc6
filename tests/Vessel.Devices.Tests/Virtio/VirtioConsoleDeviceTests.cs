using System.Buffers.Binary;
using System.Text;
using Vessel.Devices.Tests.Fakes;
using Vessel.Devices.Virtio.Console;

namespace Vessel.Devices.Tests.Virtio;

public sealed class VirtioConsoleDeviceTests : IDisposable
{
    private readonly FakeSerialOutput output = new();
    private readonly VirtioConsoleDevice console;
    private readonly VirtioTestBench bench;

    public VirtioConsoleDeviceTests()
    {
        console = new VirtioConsoleDevice(output);
        bench = new VirtioTestBench(console);
    }

    private VirtioTestDriver Driver => bench.Driver;

    public void Dispose() => bench.Dispose();

    [Fact]
    public void The_configuration_space_describes_one_80_by_25_port()
    {
        Driver.Start();

        var config = Driver.ReadDeviceConfiguration(0, 8);

        Assert.Equal(80, BinaryPrimitives.ReadUInt16LittleEndian(config));
        Assert.Equal(25, BinaryPrimitives.ReadUInt16LittleEndian(config.AsSpan(2)));
        Assert.Equal(1u, BinaryPrimitives.ReadUInt32LittleEndian(config.AsSpan(4)));
        Assert.Equal(2, Driver.ReadCommon16(Vessel.Devices.Virtio.Transport.CommonConfigurationRegister.QueueCount));
    }

    [Fact]
    public void Transmitted_buffers_reach_the_serial_output_in_order()
    {
        Driver.Start();
        var transmit = Driver.Queues[VirtioConsoleDevice.TransmitQueue];
        var hello = Driver.Allocate(Encoding.ASCII.GetBytes("hello "));
        var world = Driver.Allocate(Encoding.ASCII.GetBytes("world"));
        var bang = Driver.Allocate(Encoding.ASCII.GetBytes("!\n"));

        transmit.AddChain((hello, 6, false), (world, 5, false));
        transmit.AddChain((bang, 2, false));
        Driver.Notify(VirtioConsoleDevice.TransmitQueue);

        Assert.Equal("hello world!\n", Encoding.ASCII.GetString(output.Written));
        Assert.All(transmit.TakeUsed(), used => Assert.Equal(0u, used.Length));
    }

    [Fact]
    public void A_transmit_larger_than_the_staging_buffer_arrives_whole()
    {
        Driver.Start();
        var transmit = Driver.Queues[VirtioConsoleDevice.TransmitQueue];
        var text = Enumerable.Range(0, 10_000).Select(index => (byte)('a' + (index % 26))).ToArray();
        var buffer = Driver.Allocate(text);

        transmit.AddChain((buffer, (uint)text.Length, false));
        Driver.Notify(VirtioConsoleDevice.TransmitQueue);

        Assert.Equal(text, output.Written);
    }

    [Fact]
    public void Host_input_fills_the_receive_buffers_the_driver_offered()
    {
        Driver.Start(msix: true);
        var receive = Driver.Queues[VirtioConsoleDevice.ReceiveQueue];
        var first = Driver.Allocate(4);
        var second = Driver.Allocate(16);
        receive.AddChain((first, 4, true));
        receive.AddChain((second, 16, true));
        Driver.Notify(VirtioConsoleDevice.ReceiveQueue);
        Assert.Equal(0, receive.UsedIndex);

        console.EnqueueInput(Encoding.ASCII.GetBytes("ls -l\n"));

        var used = receive.TakeUsed();
        Assert.Equal(2, used.Count);
        Assert.Equal(4u, used[0].Length);
        Assert.Equal(2u, used[1].Length);
        Assert.Equal("ls -", Encoding.ASCII.GetString(bench.Memory.GetSpan(first, 4)));
        Assert.Equal("l\n", Encoding.ASCII.GetString(bench.Memory.GetSpan(second, 2)));
        Assert.Contains((0xFEE0_0000UL, 0x31u), bench.Msi.Messages);
    }

    [Fact]
    public void Input_waits_for_receive_buffers_and_for_the_driver()
    {
        console.EnqueueInput(Encoding.ASCII.GetBytes("early"));
        Driver.Start();
        var receive = Driver.Queues[VirtioConsoleDevice.ReceiveQueue];
        Assert.Equal(0, receive.UsedIndex);
        var buffer = Driver.Allocate(64);

        receive.AddChain((buffer, 64, true));
        Driver.Notify(VirtioConsoleDevice.ReceiveQueue);

        Assert.Equal(5u, Assert.Single(receive.TakeUsed()).Length);
        Assert.Equal("early", Encoding.ASCII.GetString(bench.Memory.GetSpan(buffer, 5)));
    }

    [Fact]
    public void A_broken_transmit_queue_needs_a_reset_and_transmits_nothing()
    {
        Driver.Start();
        var transmit = Driver.Queues[VirtioConsoleDevice.TransmitQueue];

        transmit.SetDescriptor(0, 0x40_0000, 4, Vessel.Devices.Virtio.Queues.DescriptorFlags.Next, 0);
        transmit.Publish(0);
        Driver.Notify(VirtioConsoleDevice.TransmitQueue);

        Assert.Empty(output.Written);
        Assert.NotEqual(0, (int)(Driver.Status & Vessel.Devices.Virtio.VirtioDeviceStatus.DeviceNeedsReset));
    }
}
