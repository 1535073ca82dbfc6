using System.Threading.Channels;

namespace Vessel.Server.Vms;

/// <summary>
/// A VM's serial output so far, in a file bounded by <see cref="Capacity"/>: when it would grow past that, the newest
/// half is kept (one rewrite per half-capacity of output, so appending stays cheap on average). Readers of the live
/// console subscribe and get each chunk as it is appended; a reader that falls behind loses the oldest chunks, never
/// slows the VM.
/// </summary>
public sealed class ConsoleLog : IDisposable
{
    public const int DefaultCapacity = 1 << 20;
    private const int SubscriberBacklog = 256;

    private readonly Lock sync = new();
    private readonly List<Channel<byte[]>> subscribers = [];
    private readonly string path;
    private FileStream file;

    public ConsoleLog(string path, int capacity = DefaultCapacity)
    {
        this.path = path;
        Capacity = capacity;
        file = OpenForAppend(path);
    }

    public int Capacity { get; }

    public void Append(ReadOnlySpan<byte> chunk)
    {
        if (chunk.IsEmpty)
        {
            return;
        }

        byte[] copy = chunk.ToArray();
        lock (sync)
        {
            if (file.Length + copy.Length > Capacity)
            {
                Compact(copy);
            }
            else
            {
                file.Write(copy);
                file.Flush();
            }

            foreach (var subscriber in subscribers)
            {
                subscriber.Writer.TryWrite(copy);
            }
        }
    }

    /// <summary>The console so far and, from the same instant, every later chunk (dispose the subscription to stop).</summary>
    public (byte[] History, Subscription Live) Subscribe()
    {
        var channel = Channel.CreateBounded<byte[]>(new BoundedChannelOptions(SubscriberBacklog)
        {
            FullMode = BoundedChannelFullMode.DropOldest,
            SingleReader = true,
        });
        lock (sync)
        {
            subscribers.Add(channel);
            return (ReadAllLocked(), new Subscription(this, channel));
        }
    }

    public byte[] ReadAll()
    {
        lock (sync)
        {
            return ReadAllLocked();
        }
    }

    /// <summary>Ends every subscription's stream (the VM stopped); the log itself stays readable.</summary>
    public void CompleteSubscribers()
    {
        lock (sync)
        {
            foreach (var subscriber in subscribers)
            {
                subscriber.Writer.TryComplete();
            }

            subscribers.Clear();
        }
    }

    public void Dispose()
    {
        CompleteSubscribers();
        lock (sync)
        {
            file.Dispose();
        }
    }

    private static FileStream OpenForAppend(string path) =>
        new(path, new FileStreamOptions { Mode = FileMode.Append, Access = FileAccess.Write, Share = FileShare.ReadWrite, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite });

    private byte[] ReadAllLocked()
    {
        file.Flush();
        using var reader = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var bytes = new byte[reader.Length];
        reader.ReadExactly(bytes);
        return bytes;
    }

    private void Compact(byte[] chunk)
    {
        int keep = Capacity / 2;
        byte[] tail;
        if (chunk.Length >= keep)
        {
            tail = chunk[^keep..];
        }
        else
        {
            byte[] old = ReadAllLocked();
            int fromOld = Math.Min(old.Length, keep - chunk.Length);
            tail = [.. old.AsSpan(old.Length - fromOld), .. chunk];
        }

        file.Dispose();
        string temporary = path + ".new";
        File.WriteAllBytes(temporary, tail);
        File.Move(temporary, path, overwrite: true);
        file = OpenForAppend(path);
    }

    public sealed class Subscription(ConsoleLog log, Channel<byte[]> channel) : IDisposable
    {
        public ChannelReader<byte[]> Reader => channel.Reader;

        public void Dispose()
        {
            lock (log.sync)
            {
                log.subscribers.Remove(channel);
            }

            channel.Writer.TryComplete();
        }
    }
}
