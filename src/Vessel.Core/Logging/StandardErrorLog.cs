namespace Vessel.Core.Logging;

/// <summary>Writes VMM messages to the host's stderr, prefixed so they never pass for guest output.</summary>
public sealed class StandardErrorLog(bool verbose = false) : IMachineLog
{
    /// <summary>How long a message waits for another thread's message to finish before it is dropped.</summary>
    private static readonly TimeSpan WriteWaitBound = TimeSpan.FromSeconds(1);

    private readonly Lock writeLock = new();

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
        // A stderr nobody reads can block a writer in write(2) while it holds the lock; the others (the stop path among
        // them) drop their message after a bounded wait rather than wait with it.
        if (!writeLock.TryEnter(WriteWaitBound))
        {
            return;
        }

        try
        {
            Console.Error.Write($"\r\nvessel: {level}: {message}\r\n");
        }
        finally
        {
            writeLock.Exit();
        }
    }
}
