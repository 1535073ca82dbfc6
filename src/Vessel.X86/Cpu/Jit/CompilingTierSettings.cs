namespace Vessel.X86.Cpu.Jit;

/// <summary>
/// The compiling tier's defaults, and the <c>VESSEL_JIT</c> environment variable (<c>off</c>, <c>on</c>, <c>always</c>)
/// that overrides them, so a test run can force either tier without touching the tests.
/// </summary>
public static class CompilingTierSettings
{
    public const string EnvironmentVariable = "VESSEL_JIT";

    /// <summary>
    /// Executions of a block before it is queued for compilation. RyuJIT spends about a millisecond per block, and a
    /// compiled block saves a few tens of nanoseconds per run, so only blocks that keep running pay it back.
    /// </summary>
    public const int DefaultThreshold = 2000;

    public const string ThresholdVariable = "VESSEL_JIT_THRESHOLD";

    public const string RegionsVariable = "VESSEL_JIT_REGIONS";

    /// <summary>
    /// Whether hot 64-bit blocks are compiled as regions with the blocks of their page they lead to: on unless
    /// <c>VESSEL_JIT_REGIONS=off</c> (for comparing against single blocks).
    /// </summary>
    public static bool Regions() => Parse(Environment.GetEnvironmentVariable(RegionsVariable), RegionsVariable) != CompilingTierMode.Off;

    /// <summary>The threshold: <c>VESSEL_JIT_THRESHOLD</c> (for tuning) when it is a positive number, else the default.</summary>
    public static int Threshold() =>
        int.TryParse(Environment.GetEnvironmentVariable(ThresholdVariable), out int threshold) && threshold > 0 ? threshold : DefaultThreshold;

    /// <summary>
    /// The mode when neither the machine configuration nor the environment chooses one: on, since it measurably speeds
    /// up both a Linux boot and CPU-bound loops (docs/performance.md, "The compiling tier").
    /// </summary>
    public const CompilingTierMode DefaultMode = CompilingTierMode.On;

    /// <summary>The mode <c>VESSEL_JIT</c> asks for, or null when it is unset.</summary>
    public static CompilingTierMode? FromEnvironment() => Parse(Environment.GetEnvironmentVariable(EnvironmentVariable), EnvironmentVariable);

    /// <summary>The mode a configuration value names; null or empty means "not chosen".</summary>
    public static CompilingTierMode? Parse(string? value, string source) => value?.Trim().ToLowerInvariant() switch
    {
        null or "" => null,
        "off" or "0" or "false" => CompilingTierMode.Off,
        "on" or "1" or "true" => CompilingTierMode.On,
        "always" => CompilingTierMode.Always,
        _ => throw new ArgumentException($"{source}: '{value}' is not a compiling-tier mode; use off, on or always."),
    };

    /// <summary>
    /// An explicit choice (<c>--jit</c>) first, then the environment's (so a test run can force a tier for machines that
    /// do not choose), then the default.
    /// </summary>
    public static CompilingTierMode Resolve(bool? configured) => configured switch
    {
        true => CompilingTierMode.On,
        false => CompilingTierMode.Off,
        null => FromEnvironment() ?? DefaultMode,
    };
}
