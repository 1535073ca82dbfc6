using Vessel.Devices.Tests.Fakes;
using Vessel.Devices.Virtio.Entropy;

namespace Vessel.Devices.Tests.Virtio;

public sealed class VirtioEntropyDeviceTests : IDisposable
{
    private readonly VirtioTestBench bench = new(new VirtioEntropyDevice());

    public void Dispose() => bench.Dispose();

    [Fact]
    public void Every_writable_buffer_is_filled_and_its_length_reported()
    {
        var driver = bench.Driver;
        driver.Start(size: 16);
        var first = driver.Allocate(256);
        var second = driver.Allocate(4096);
        var queue = driver.Queues[0];

        ushort head = queue.AddChain((first, 256, true), (second, 4096, true));
        driver.Notify(0);

        Assert.Equal(((uint)head, 4352u), Assert.Single(queue.TakeUsed()));
        Assert.True(CountZeroes(bench.Memory.GetSpan(first, 256)) < 16, "256 random bytes are not mostly zero");
        Assert.True(CountZeroes(bench.Memory.GetSpan(second, 4096)) < 64, "4096 random bytes are not mostly zero");
        Assert.True(bench.Memory.IsDirty(second));
    }

    [Fact]
    public void Two_requests_get_different_bytes()
    {
        var driver = bench.Driver;
        driver.Start(size: 16);
        var first = driver.Allocate(64);
        var second = driver.Allocate(64);
        var queue = driver.Queues[0];

        queue.AddChain((first, 64, true));
        queue.AddChain((second, 64, true));
        driver.Notify(0);

        Assert.Equal(2, queue.TakeUsed().Count);
        Assert.NotEqual(bench.Memory.GetSpan(first, 64).ToArray(), bench.Memory.GetSpan(second, 64).ToArray());
    }

    [Fact]
    public void A_huge_request_is_served_in_part_and_says_how_much()
    {
        var driver = bench.Driver;
        driver.Start(size: 16);
        var buffer = driver.Allocate(1 << 20);
        var queue = driver.Queues[0];

        queue.AddChain((buffer, 1 << 20, true));
        driver.Notify(0);

        var (_, length) = Assert.Single(queue.TakeUsed());
        Assert.InRange(length, 1u, 1u << 20);
        Assert.Equal(-1, bench.Memory.GetSpan(buffer + length, (1 << 20) - (int)length).IndexOfAnyExcept((byte)0));
    }

    [Fact]
    public void A_readable_only_request_gets_nothing_and_the_device_keeps_working()
    {
        var driver = bench.Driver;
        driver.Start(size: 16);
        var buffer = driver.Allocate(64);
        var queue = driver.Queues[0];

        queue.AddChain((buffer, 64, false));
        queue.AddChain((buffer, 64, true));
        driver.Notify(0);

        var used = queue.TakeUsed();
        Assert.Equal(0u, used[0].Length);
        Assert.Equal(64u, used[1].Length);
        Assert.Empty(bench.Log.Warnings);
    }

    private static int CountZeroes(ReadOnlySpan<byte> bytes)
    {
        int zeroes = 0;
        foreach (byte value in bytes)
        {
            zeroes += value == 0 ? 1 : 0;
        }

        return zeroes;
    }
}
