using Vessel.Devices.Serial;

namespace Vessel.Devices.Tests.Serial;

public class ConsoleSerialOutputTests
{
    /// <summary>A destination that never returns from Write until released: a pipe nobody reads.</summary>
    private sealed class StuckStream : Stream
    {
        public ManualResetEventSlim Release { get; } = new(false);

        public ManualResetEventSlim Entered { get; } = new(false);

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Write(byte[] buffer, int offset, int count)
        {
            Entered.Set();
            Release.Wait();
        }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }

    [Fact]
    public void Bytes_reach_the_destination_in_order()
    {
        var destination = new MemoryStream();
        using (var output = new ConsoleSerialOutput(destination, capacity: 16))
        {
            for (int i = 0; i < 1000; i++)
            {
                output.Write([(byte)i]);
            }

            Assert.True(output.WaitUntilDrained(TimeSpan.FromSeconds(60)));
        }

        Assert.Equal(Enumerable.Range(0, 1000).Select(i => (byte)i), destination.ToArray());
    }

    [Fact]
    public void Abandon_releases_a_writer_waiting_on_a_destination_that_never_drains()
    {
        var destination = new StuckStream();
        using var output = new ConsoleSerialOutput(destination, capacity: 16);
        var writer = new Thread(() =>
        {
            for (int i = 0; i < 1000; i++)
            {
                output.Write([(byte)'x']);
            }
        })
        { IsBackground = true };
        writer.Start();
        Assert.True(destination.Entered.Wait(TimeSpan.FromSeconds(60)));

        // The buffer holds 16 bytes and the destination takes none after its first chunk, so the writer must be waiting.
        Assert.False(writer.Join(TimeSpan.FromMilliseconds(200)));
        output.Abandon();

        Assert.True(writer.Join(TimeSpan.FromSeconds(60)), "the writer still waits after Abandon");
        Assert.True(output.IsAbandoned);
        destination.Release.Set();
    }
}
