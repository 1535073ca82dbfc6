using System.Text.Json;

namespace Vessel.Api;

/// <summary>System.Text.Json's messages in the API's words: JSON field names, no .NET type or member names.</summary>
internal static class JsonErrors
{
    public static string Describe(JsonException exception) => exception.Message
        .Replace("Vessel.Client.Models.", string.Empty, StringComparison.Ordinal)
        .Replace("could not be mapped to any .NET member contained in type", "is not a field of", StringComparison.Ordinal)
        .Replace("The constructor parameter", "The field", StringComparison.Ordinal)
        .Replace(" Consider updating its nullability annotation.", string.Empty, StringComparison.Ordinal);
}
