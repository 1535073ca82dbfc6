using System.Globalization;
using System.Text.RegularExpressions;

namespace Vessel.Vmm.Configuration;

/// <summary>Parses sizes the way QEMU's -m does: a bare number is MiB; K, M, G, T suffixes (with optional "iB"/"B") are binary units.</summary>
public static partial class MemorySize
{
    public static ulong Parse(string text, ConfigField field = ConfigField.Memory)
    {
        string trimmed = text.Trim();
        if (trimmed.Length == 0)
        {
            throw ConfigurationException.InvalidValue(field, $"empty size. Give a size such as 512M or 2G.");
        }

        var match = SizePattern().Match(trimmed);
        if (!match.Success || !ulong.TryParse(match.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out ulong number) || number == 0)
        {
            throw ConfigurationException.InvalidValue(field, $"'{text}' is not a size. Give a positive whole number with an optional K, M, G or T unit, e.g. 512M or 2G.");
        }

        int shift = match.Groups[2].Success
            ? char.ToUpperInvariant(match.Groups[2].Value[0]) switch { 'K' => 10, 'M' => 20, 'G' => 30, _ => 40 }
            : 20;
        if (number > (ulong.MaxValue >> shift))
        {
            throw ConfigurationException.InvalidValue(field, $"'{text}' is too large.");
        }

        return number << shift;
    }

    public static string Format(ulong bytes) =>
        bytes % (1UL << 30) == 0 ? $"{bytes >> 30} GiB" : bytes % (1UL << 20) == 0 ? $"{bytes >> 20} MiB" : $"{bytes} bytes";

    [GeneratedRegex(@"^(\d+)\s*(?:([KMGTkmgt])(?:i?[Bb])?)?$")]
    private static partial Regex SizePattern();
}
