namespace Vessel.Vmm.Configuration;

/// <summary>
/// A machine configuration a user must fix: <see cref="Detail"/> says what was wrong and what to do, <see cref="Field"/>
/// which setting, so the CLI can name its flag and the API its JSON field. <see cref="Exception.Message"/> names the
/// field neutrally, for logs that have neither.
/// </summary>
public sealed class ConfigurationException : Exception
{
    public ConfigurationException(string message, Exception? inner = null)
        : base(message, inner)
    {
        Detail = message;
    }

    public ConfigurationException(ConfigField field, string detail, Exception? inner = null)
        : base($"{field}: {detail}", inner)
    {
        Field = field;
        Detail = detail;
    }

    public ConfigField? Field { get; }

    public string Detail { get; }

    /// <summary>
    /// Whether a value was refused on its own terms (out of range, unparsable, unknown), as opposed to a file or host
    /// resource that could not be used. The CLI exits with 2 for the first, as for any rejected command line, and 1 otherwise.
    /// </summary>
    public bool IsInvalidValue { get; init; }

    /// <summary>A refused value: <paramref name="message"/> names the setting and the range or syntax it takes.</summary>
    public static ConfigurationException InvalidValue(string message) => new(message) { IsInvalidValue = true };

    /// <summary>A refused value of <paramref name="field"/>: <paramref name="detail"/> gives the range or syntax it takes.</summary>
    public static ConfigurationException InvalidValue(ConfigField field, string detail) => new(field, detail) { IsInvalidValue = true };

    /// <summary>The message with the field in a front end's words: "NAME: detail", or the detail alone when no field applies.</summary>
    public string Render(Func<ConfigField, string> name) => Field is { } field ? $"{name(field)}: {Detail}" : Detail;
}
