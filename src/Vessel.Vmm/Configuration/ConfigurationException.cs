namespace Vessel.Vmm.Configuration;

/// <summary>
/// A machine configuration a user must fix: <see cref="Detail"/> says what was wrong and what to do, <see cref="Field"/>
/// which setting, so the CLI can name its flag and the API its JSON field. <see cref="Exception.Message"/> names the
/// field neutrally, for logs that have neither.
/// </summary>
public sealed class ConfigurationException : Exception
{
    public ConfigurationException(string message)
        : base(message)
    {
        Detail = message;
    }

    public ConfigurationException(ConfigField field, string detail)
        : base($"{field}: {detail}")
    {
        Field = field;
        Detail = detail;
    }

    public ConfigField? Field { get; }

    public string Detail { get; }

    /// <summary>The message with the field in a front end's words: "NAME: detail", or the detail alone when no field applies.</summary>
    public string Render(Func<ConfigField, string> name) => Field is { } field ? $"{name(field)}: {Detail}" : Detail;
}
