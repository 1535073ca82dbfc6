namespace Vessel.Devices.Serial;

/// <summary>
/// Sends a UART's output to a file or named pipe (Firecracker's <c>serial_out_path</c>), flushed on every write like
/// the console. The file is opened read-write so that opening a FIFO nobody reads yet does not block.
/// </summary>
public sealed class FileSerialOutput : ISerialOutput, IDisposable
{
    private readonly FileStream stream;

    public FileSerialOutput(string path)
    {
        stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite, bufferSize: 0);
        if (stream.CanSeek)
        {
            stream.Seek(0, SeekOrigin.End);
        }
    }

    public void Write(ReadOnlySpan<byte> data)
    {
        try
        {
            stream.Write(data);
        }
        catch (IOException)
        {
            // A reader that went away must not stop the guest: its output is dropped, as a disconnected UART's would be.
        }
    }

    public void Flush()
    {
    }

    public void Dispose() => stream.Dispose();
}
