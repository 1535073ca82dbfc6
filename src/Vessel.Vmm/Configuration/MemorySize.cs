using System.Globalization;

namespace Vessel.Vmm.Configuration;

/// <summary>Parses sizes the way QEMU's -m does: a bare number is MiB; K, M, G, T suffixes (with optional "iB"/"B") are binary units.</summary>
public static class MemorySize
{
    public static ulong Parse(string text, string settingName)
    {
        string trimmed = text.Trim();
        if (trimmed.Length == 0)
        {
            throw new ConfigurationException($"{settingName}: empty size. Give a size such as 512M or 2G.");
        }

        string upper = trimmed.ToUpperInvariant();
        foreach (var suffix in new[] { "IB", "B" })
        {
            if (upper.Length > 1 && upper.EndsWith(suffix, StringComparison.Ordinal) && char.IsLetter(upper[^(suffix.Length + 1)]))
            {
                upper = upper[..^suffix.Length];
                break;
            }
        }

        int shift = 20;
        char last = upper[^1];
        if (char.IsLetter(last))
        {
            shift = last switch
            {
                'K' => 10,
                'M' => 20,
                'G' => 30,
                'T' => 40,
                _ => throw new ConfigurationException($"{settingName}: unknown unit '{last}' in '{text}'. Use K, M, G or T (binary units), e.g. 512M."),
            };
            upper = upper[..^1];
        }

        if (!ulong.TryParse(upper, NumberStyles.None, CultureInfo.InvariantCulture, out ulong number) || number == 0)
        {
            throw new ConfigurationException($"{settingName}: '{text}' is not a size. Give a positive whole number with an optional unit, e.g. 512M or 2G.");
        }

        if (number > (ulong.MaxValue >> shift))
        {
            throw new ConfigurationException($"{settingName}: '{text}' is too large.");
        }

        return number << shift;
    }

    public static string Format(ulong bytes) =>
        bytes % (1UL << 30) == 0 ? $"{bytes >> 30} GiB" : bytes % (1UL << 20) == 0 ? $"{bytes >> 20} MiB" : $"{bytes} bytes";
}
