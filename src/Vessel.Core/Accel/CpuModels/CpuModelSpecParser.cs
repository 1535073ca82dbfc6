using System.Globalization;

namespace Vessel.Core.Accel.CpuModels;

/// <summary>Parses QEMU's <c>-cpu</c> syntax (QEMU docs, "x86 CPU models"; target/i386/cpu.c x86_cpu_parse_featurestr).</summary>
internal static class CpuModelSpecParser
{
    /// <summary>Properties QEMU accepts that change nothing Vessel emulates: kept, reported as ignored.</summary>
    private static readonly HashSet<string> IgnoredKeys = new(StringComparer.Ordinal)
    {
        "migratable", "enforce", "check", "kvm", "pmu", "l3-cache", "lmce", "full-cpuid-auto-level", "legacy-cache",
        "host-cache-info", "fill-mtrr-mask", "kvm-no-smi-migration", "kvm-pv-enforce-cpuid", "level", "xlevel", "min-level",
        "min-xlevel", "host-phys-bits-limit", "ucode-rev", "cpuid-0xb", "x-force-features", "tcg-cpuid", "kvmclock",
        "kvm-nopiodelay", "kvm-mmu", "kvmclock-stable-bit", "kvm-asyncpf", "kvm-steal-time", "kvm-pv-eoi", "kvm-pv-unhalt",
        "kvm-pv-tlb-flush", "kvm-pv-ipi", "kvm-poll-control", "kvm-pv-sched-yield", "kvm-asyncpf-int", "kvm-msi-ext-dest-id",
    };

    private const string Syntax = "Write MODEL[,+feature|,-feature|,feature=on|off|,key=value]..., e.g. qemu64,+x2apic or Opteron_G1,vendor=AuthenticAMD.";

    public static CpuModelSpec Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string[] items = text.Split(',');
        string modelName = items[0].Trim();
        if (modelName.Length == 0)
        {
            throw new CpuModelException($"no CPU model given. {Syntax} Models: {CpuModelCatalog.Names}.");
        }

        if (!CpuModelCatalog.TryFind(modelName, out var model))
        {
            throw new CpuModelException($"unknown CPU model '{modelName}'. Models: {CpuModelCatalog.Names}.");
        }

        var assignments = new List<CpuFeatureOverride>();
        var plus = new List<CpuFeatureOverride>();
        var minus = new List<CpuFeatureOverride>();
        var ignored = new List<string>();
        var spec = new CpuModelSpec { Text = text, Model = model };
        foreach (string raw in items.AsSpan(1))
        {
            string item = raw.Trim();
            if (item.Length == 0)
            {
                throw new CpuModelException($"empty item in '{text}' (two commas in a row, or a trailing comma). {Syntax}");
            }

            if (item[0] is '+' or '-')
            {
                var feature = RequireFeature(item[1..], item);
                (item[0] == '+' ? plus : minus).Add(new CpuFeatureOverride(feature, item[0] == '+'));
                continue;
            }

            int equals = item.IndexOf('=');
            string key = CpuFeatures.Normalize(equals < 0 ? item : item[..equals]);
            string? value = equals < 0 ? null : item[(equals + 1)..].Trim();
            switch (key)
            {
                case "vendor":
                    spec = spec with { Vendor = ParseVendor(item, value) };
                    break;
                case "family":
                    spec = spec with { Family = ParseInteger(item, value, 0, 0xFF + 0xF) };
                    break;
                case "model":
                    spec = spec with { ModelNumber = ParseInteger(item, value, 0, 0xFF) };
                    break;
                case "stepping":
                    spec = spec with { Stepping = ParseInteger(item, value, 0, 0xF) };
                    break;
                case "model-id":
                    spec = spec with { ModelId = value ?? throw MissingValue(item, "a brand string") };
                    break;
                case "phys-bits":
                    spec = spec with { PhysicalAddressBits = ParseInteger(item, value, 32, 52) };
                    break;
                case "host-phys-bits":
                    spec = spec with { HostPhysicalAddressBits = ParseSwitch(item, value) };
                    break;
                case "tsc-frequency" or "tsc-freq":
                    spec = spec with { TscFrequencyHz = ParseFrequency(item, value) };
                    break;
                default:
                    if (CpuFeatures.TryFind(key, out var feature))
                    {
                        assignments.Add(new CpuFeatureOverride(feature, ParseSwitch(item, value)));
                    }
                    else if (IgnoredKeys.Contains(key) || key.StartsWith("hv-", StringComparison.Ordinal))
                    {
                        ParseIgnored(item, key, value);
                        ignored.Add(item);
                    }
                    else
                    {
                        throw UnknownFeature(equals < 0 ? item : item[..equals]);
                    }

                    break;
            }
        }

        return spec with { Overrides = [.. assignments, .. plus, .. minus], IgnoredProperties = ignored };
    }

    private static CpuFeature RequireFeature(string name, string item) =>
        CpuFeatures.TryFind(name, out var feature) ? feature : throw UnknownFeature(item);

    private static CpuModelException UnknownFeature(string item) => new(
        $"unknown CPU feature or property '{item}'. Features use QEMU's names (e.g. x2apic, tsc-deadline, sse4.2, pcid, vmx, svm, nx, lm; "
        + "see docs/cpu.md); properties are vendor=, family=, model=, stepping=, model-id=, phys-bits=, host-phys-bits, tsc-frequency=, "
        + "migratable, enforce, check and the hv-* switches.");

    private static CpuModelException MissingValue(string item, string what) => new($"'{item}' needs a value: give {what}.");

    private static string ParseVendor(string item, string? value)
    {
        if (value is null || value.Length != 12 || !value.All(char.IsAsciiLetterOrDigit))
        {
            throw new CpuModelException($"'{item}': a vendor is 12 letters or digits, e.g. vendor=GenuineIntel or vendor=AuthenticAMD.");
        }

        return value;
    }

    private static int ParseInteger(string item, string? value, int minimum, int maximum)
    {
        if (value is null)
        {
            throw MissingValue(item, $"a number from {minimum} to {maximum}");
        }

        bool parsed = value.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? int.TryParse(value.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int number)
            : int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out number);
        if (!parsed || number < minimum || number > maximum)
        {
            throw new CpuModelException($"'{item}': give a number from {minimum} to {maximum}.");
        }

        return number;
    }

    private static ulong ParseFrequency(string item, string? value)
    {
        if (value is null)
        {
            throw MissingValue(item, "a frequency in Hz (k, M, G suffixes allowed)");
        }

        ulong scale = char.ToUpperInvariant(value.Length > 0 ? value[^1] : ' ') switch { 'K' => 1000UL, 'M' => 1_000_000UL, 'G' => 1_000_000_000UL, _ => 1UL };
        string digits = scale == 1 ? value : value[..^1];
        if (!ulong.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out ulong number) || number == 0 || number > ulong.MaxValue / scale
            || number * scale < 1_000_000UL || number * scale > 10_000_000_000UL)
        {
            throw new CpuModelException($"'{item}': give a frequency from 1M to 10G (Hz, with k, M or G suffixes).");
        }

        return number * scale;
    }

    /// <summary>QEMU's boolean property values (qapi's parse_type_bool and its legacy on/off spellings); a bare name means on.</summary>
    private static bool ParseSwitch(string item, string? value) => value?.ToLowerInvariant() switch
    {
        null or "on" or "yes" or "true" or "y" => true,
        "off" or "no" or "false" or "n" => false,
        _ => throw new CpuModelException($"'{item}': a switch is on or off (yes/no, true/false also work)."),
    };

    /// <summary>Ignored properties still have to be well formed: limits and counts take a number, hv-vendor-id a string, the rest are switches.</summary>
    private static void ParseIgnored(string item, string key, string? value)
    {
        if (key is "level" or "xlevel" or "min-level" or "min-xlevel" or "host-phys-bits-limit" or "ucode-rev" or "hv-spinlocks"
            || key.StartsWith("hv-version-id", StringComparison.Ordinal))
        {
            ParseInteger(item, value, 0, int.MaxValue);
        }
        else if (key == "hv-vendor-id")
        {
            _ = value ?? throw MissingValue(item, "a vendor ID string");
        }
        else
        {
            ParseSwitch(item, value);
        }
    }
}
