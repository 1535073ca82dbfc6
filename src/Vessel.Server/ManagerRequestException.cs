namespace Vessel.Server;

/// <summary>A request the manager refuses: the HTTP status and one sentence saying what and what to do.</summary>
public sealed class ManagerRequestException(int status, string message) : Exception(message)
{
    public const int BadRequest = 400;
    public const int Unauthorized = 401;
    public const int NotFound = 404;
    public const int Conflict = 409;

    public int Status { get; } = status;
}
