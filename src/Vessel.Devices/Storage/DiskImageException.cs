namespace Vessel.Devices.Storage;

/// <summary>A disk image that cannot be opened or created; the message is one sentence: what, which file, what to do.</summary>
public sealed class DiskImageException : Exception
{
    public DiskImageException(string message)
        : base(message)
    {
    }

    public DiskImageException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
