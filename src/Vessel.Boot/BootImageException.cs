namespace Vessel.Boot;

/// <summary>
/// A kernel, initrd, module or command line that cannot be booted as given.
/// The message says what is wrong, where in the file (offset or field), and what to do about it.
/// </summary>
public sealed class BootImageException : Exception
{
    public BootImageException(string message)
        : base(message)
    {
    }

    public BootImageException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
