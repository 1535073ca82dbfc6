using System.Text.Json;
using Vessel.Vmm.Running;

namespace Vessel.Api.Logging;

/// <summary>
/// Firecracker's metrics: after <c>PUT /metrics</c>, each flush (the FlushMetrics action, and every 60 s while the
/// machine runs) appends one JSON line to the file or pipe. Like Firecracker's counters, each value is the change since
/// the previous flush, so a reader sums lines for totals.
/// </summary>
public sealed class MetricsSink : IDisposable
{
    public static readonly TimeSpan PeriodicFlushInterval = TimeSpan.FromSeconds(60);

    private readonly Lock sync = new();
    private readonly long[] previous = new long[Counter.Count];
    private FileStream? file;
    private long apiRequests;
    private long apiFailures;

    public bool IsConfigured
    {
        get
        {
            lock (sync)
            {
                return file != null;
            }
        }
    }

    public void Configure(string path)
    {
        var stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite, bufferSize: 0);
        if (stream.CanSeek)
        {
            stream.Seek(0, SeekOrigin.End);
        }

        lock (sync)
        {
            file?.Dispose();
            file = stream;
        }
    }

    /// <summary>Counts a request as it arrives, so a flush it triggers includes it.</summary>
    public void CountRequest() => Interlocked.Increment(ref apiRequests);

    /// <summary>Counts a refused request before its answer is sent.</summary>
    public void CountFailure() => Interlocked.Increment(ref apiFailures);

    /// <summary>Appends one line; false when no metrics file is configured.</summary>
    public bool Flush(MachineMetrics? machine, string state)
    {
        lock (sync)
        {
            if (file == null)
            {
                return false;
            }

            long[] now = new long[Counter.Count];
            now[Counter.ApiRequests] = Interlocked.Read(ref apiRequests);
            now[Counter.ApiFailures] = Interlocked.Read(ref apiFailures);
            if (machine != null)
            {
                now[Counter.PortReads] = Interlocked.Read(ref machine.PortReads);
                now[Counter.PortWrites] = Interlocked.Read(ref machine.PortWrites);
                now[Counter.MmioReads] = Interlocked.Read(ref machine.MmioReads);
                now[Counter.MmioWrites] = Interlocked.Read(ref machine.MmioWrites);
                now[Counter.BlockReadBytes] = Interlocked.Read(ref machine.BlockReadBytes);
                now[Counter.BlockWriteBytes] = Interlocked.Read(ref machine.BlockWriteBytes);
                now[Counter.BlockReadCount] = Interlocked.Read(ref machine.BlockReadCount);
                now[Counter.BlockWriteCount] = Interlocked.Read(ref machine.BlockWriteCount);
                now[Counter.NetReceiveBytes] = Interlocked.Read(ref machine.NetReceiveBytes);
                now[Counter.NetTransmitBytes] = Interlocked.Read(ref machine.NetTransmitBytes);
                now[Counter.NetReceiveCount] = Interlocked.Read(ref machine.NetReceiveCount);
                now[Counter.NetTransmitCount] = Interlocked.Read(ref machine.NetTransmitCount);
            }

            long Delta(int counter)
            {
                long value = Math.Max(0, now[counter] - previous[counter]);
                previous[counter] = now[counter];
                return value;
            }

            var buffer = new MemoryStream();
            using (var json = new Utf8JsonWriter(buffer))
            {
                json.WriteStartObject();
                json.WriteNumber("utc_timestamp_ms", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
                json.WriteString("state", state);
                json.WriteStartObject("api_server");
                json.WriteNumber("requests", Delta(Counter.ApiRequests));
                json.WriteNumber("failed_requests", Delta(Counter.ApiFailures));
                json.WriteEndObject();
                json.WriteStartObject("vcpu");
                json.WriteNumber("exit_io_in", Delta(Counter.PortReads));
                json.WriteNumber("exit_io_out", Delta(Counter.PortWrites));
                json.WriteNumber("exit_mmio_read", Delta(Counter.MmioReads));
                json.WriteNumber("exit_mmio_write", Delta(Counter.MmioWrites));
                json.WriteEndObject();
                json.WriteStartObject("block");
                json.WriteNumber("read_bytes", Delta(Counter.BlockReadBytes));
                json.WriteNumber("write_bytes", Delta(Counter.BlockWriteBytes));
                json.WriteNumber("read_count", Delta(Counter.BlockReadCount));
                json.WriteNumber("write_count", Delta(Counter.BlockWriteCount));
                json.WriteEndObject();
                json.WriteStartObject("net");
                json.WriteNumber("rx_bytes_count", Delta(Counter.NetReceiveBytes));
                json.WriteNumber("tx_bytes_count", Delta(Counter.NetTransmitBytes));
                json.WriteNumber("rx_packets_count", Delta(Counter.NetReceiveCount));
                json.WriteNumber("tx_packets_count", Delta(Counter.NetTransmitCount));
                json.WriteEndObject();
                json.WriteEndObject();
            }

            buffer.WriteByte((byte)'\n');
            try
            {
                file.Write(buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
            }
            catch (IOException exception)
            {
                throw new ApiRequestException($"Could not write metrics: {exception.Message}");
            }

            return true;
        }
    }

    public void Dispose()
    {
        lock (sync)
        {
            file?.Dispose();
            file = null;
        }
    }

    private static class Counter
    {
        public const int ApiRequests = 0;
        public const int ApiFailures = 1;
        public const int PortReads = 2;
        public const int PortWrites = 3;
        public const int MmioReads = 4;
        public const int MmioWrites = 5;
        public const int BlockReadBytes = 6;
        public const int BlockWriteBytes = 7;
        public const int BlockReadCount = 8;
        public const int BlockWriteCount = 9;
        public const int NetReceiveBytes = 10;
        public const int NetTransmitBytes = 11;
        public const int NetReceiveCount = 12;
        public const int NetTransmitCount = 13;
        public const int Count = 14;
    }
}
