namespace Vessel.Core.Logging;

/// <summary>Writes VMM messages to the host's stderr, prefixed so they never pass for guest output.</summary>
public sealed class StandardErrorLog(bool verbose = false) : IMachineLog
{
    private readonly object writeLock = new();

    public void Info(string message)
    {
        if (verbose)
        {
            Write("info", message);
        }
    }

    public void Warn(string message) => Write("warning", message);

    private void Write(string level, string message)
    {
        lock (writeLock)
        {
            Console.Error.Write($"\r\nvessel: {level}: {message}\r\n");
        }
    }
}
