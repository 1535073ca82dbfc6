namespace Vessel.Api;

/// <summary>The API socket cannot be served (path taken, directory missing): the message says what to do.</summary>
public sealed class ApiServerException(string message) : Exception(message);
