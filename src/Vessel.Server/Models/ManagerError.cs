namespace Vessel.Server.Models;

/// <summary>Every refused request's body: <c>{"error": "one sentence"}</c>.</summary>
public sealed record ManagerError(string Error);
