using System.IO.Pipes;
using Vessel.Devices.Serial;

namespace Vessel.Devices.Tests.Serial;

public sealed class HostInputPumpTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [Fact]
    public void Bytes_arriving_on_the_input_reach_the_callback()
    {
        using var pipe = new AnonymousPipeServerStream(PipeDirection.Out);
        using var readEnd = pipe.ClientSafePipeHandle;
        var received = new Collected(expected: 5);
        using var pump = new HostInputPump(readEnd, received.Add);
        pump.Start();

        pipe.Write("hello"u8);
        pipe.Flush();

        Assert.True(received.Complete.Wait(Timeout));
        Assert.Equal("hello"u8.ToArray(), received.Bytes);
    }

    [Fact]
    public void Pump_ends_by_itself_at_end_of_input()
    {
        var pipe = new AnonymousPipeServerStream(PipeDirection.Out);
        using var readEnd = pipe.ClientSafePipeHandle;
        var received = new Collected(expected: 3);
        using var pump = new HostInputPump(readEnd, received.Add);
        pump.Start();

        pipe.Write("abc"u8);
        pipe.Dispose();

        Assert.True(pump.WaitForEnd(Timeout));
        Assert.Equal("abc"u8.ToArray(), received.Bytes);
    }

    [Fact]
    public void Pump_over_dev_null_ends_at_once()
    {
        using var devNull = File.OpenHandle("/dev/null");
        var received = new Collected(expected: 1);
        using var pump = new HostInputPump(devNull, received.Add);
        pump.Start();

        Assert.True(pump.WaitForEnd(Timeout));
        Assert.Empty(received.Bytes);
    }

    [Fact]
    public void Dispose_stops_a_pump_that_is_waiting_for_input()
    {
        using var pipe = new AnonymousPipeServerStream(PipeDirection.Out);
        using var readEnd = pipe.ClientSafePipeHandle;
        var pump = new HostInputPump(readEnd, _ => { });
        pump.Start();

        pump.Dispose();

        Assert.True(pump.WaitForEnd(TimeSpan.Zero));
    }

    [Fact]
    public void Callback_may_dispose_the_pump_that_called_it()
    {
        using var pipe = new AnonymousPipeServerStream(PipeDirection.Out);
        using var readEnd = pipe.ClientSafePipeHandle;
        HostInputPump? pump = null;
        using var disposedFromCallback = new ManualResetEventSlim();
        pump = new HostInputPump(readEnd, _ =>
        {
            pump!.Dispose();
            disposedFromCallback.Set();
        });
        pump.Start();

        pipe.Write("q"u8);
        pipe.Flush();

        Assert.True(disposedFromCallback.Wait(Timeout));
        Assert.True(pump.WaitForEnd(Timeout));
    }

    private sealed class Collected(int expected)
    {
        private readonly List<byte> bytes = [];

        public ManualResetEventSlim Complete { get; } = new();

        public byte[] Bytes
        {
            get
            {
                lock (bytes)
                {
                    return [.. bytes];
                }
            }
        }

        public void Add(ReadOnlySpan<byte> chunk)
        {
            lock (bytes)
            {
                bytes.AddRange(chunk);
                if (bytes.Count >= expected)
                {
                    Complete.Set();
                }
            }
        }
    }
}
