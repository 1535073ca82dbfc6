namespace Vessel.Server.Client;

/// <summary>The daemon refused a request (<see cref="Status"/> its HTTP status) or could not be reached (status 0).</summary>
public sealed class ManagerClientException(string message, int status, Exception? inner = null) : Exception(message, inner)
{
    public int Status { get; } = status;
}
