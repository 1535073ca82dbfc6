namespace Vessel.Devices.Networking;

/// <summary>A network backend that cannot start (passt missing or failing, a TAP device refused); the message says what to do.</summary>
public sealed class NetworkBackendException : Exception
{
    public NetworkBackendException(string message)
        : base(message)
    {
    }

    public NetworkBackendException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
