namespace Vessel.Vmm.Configuration;

/// <summary>A machine configuration a user must fix: the message says which setting, what was wrong, and what to do.</summary>
public sealed class ConfigurationException(string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>
    /// Whether a value was refused on its own terms (out of range, unparsable, unknown), as opposed to a file or host
    /// resource that could not be used. The CLI exits with 2 for the first, as for any rejected command line, and 1 otherwise.
    /// </summary>
    public bool IsInvalidValue { get; init; }

    /// <summary>A refused value: <paramref name="message"/> names the setting and the range or syntax it takes.</summary>
    public static ConfigurationException InvalidValue(string message) => new(message) { IsInvalidValue = true };
}
