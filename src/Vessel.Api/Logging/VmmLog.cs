using System.Globalization;
using System.Text;
using Vessel.Core.Logging;

namespace Vessel.Api.Logging;

/// <summary>
/// The VMM's log under the API: everything goes to the host's log (stderr) as before, and, once <c>PUT /logger</c>
/// named a file or pipe, also there as timestamped lines filtered by level (Firecracker's format:
/// <c>2026-12-04T17:00:00.123456789 [instance:component:LEVEL] message</c>, the level only with show_level).
/// </summary>
public sealed class VmmLog(IMachineLog host, string instanceId) : IMachineLog, IDisposable
{
    private readonly Lock sync = new();
    private FileStream? file;
    private LogLevel level = LogLevel.Info;
    private bool showLevel;

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

    /// <summary>Opens the log file (read-write, so a FIFO without a reader does not block) and sets the level.</summary>
    public void Configure(string path, LogLevel newLevel, bool newShowLevel)
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
            level = newLevel;
            showLevel = newShowLevel;
        }
    }

    public void Info(string message)
    {
        host.Info(message);
        Write(LogLevel.Info, "vmm", message);
    }

    public void Warn(string message)
    {
        host.Warn(message);
        Write(LogLevel.Warning, "vmm", message);
    }

    /// <summary>A line for the file log only (API requests are not stderr chatter).</summary>
    public void Write(LogLevel messageLevel, string component, string message)
    {
        lock (sync)
        {
            if (file == null || messageLevel > level || messageLevel == LogLevel.Off)
            {
                return;
            }

            var now = DateTime.UtcNow;
            string stamp = now.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture)
                + "." + ((now.Ticks % TimeSpan.TicksPerSecond) * 100).ToString("D9", CultureInfo.InvariantCulture);
            string levelPart = showLevel ? $":{messageLevel.ToString().ToUpperInvariant()}" : string.Empty;
            try
            {
                file.Write(Encoding.UTF8.GetBytes($"{stamp} [{instanceId}:{component}{levelPart}] {message}\n"));
            }
            catch (IOException)
            {
                // A log reader that went away must not take the VMM down.
            }
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
}
