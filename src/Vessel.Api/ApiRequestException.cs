namespace Vessel.Api;

/// <summary>A request the API refuses: the server answers 400 with this message as Firecracker's <c>fault_message</c>.</summary>
public sealed class ApiRequestException(string faultMessage) : Exception(faultMessage);
