using System.Net;

namespace Vessel.Client;

/// <summary>The VMM refused a request: the HTTP status and the server's <c>fault_message</c>.</summary>
public sealed class FirecrackerApiException(HttpStatusCode statusCode, string faultMessage)
    : Exception($"{(int)statusCode} {statusCode}: {faultMessage}")
{
    public HttpStatusCode StatusCode { get; } = statusCode;

    public string FaultMessage { get; } = faultMessage;
}
