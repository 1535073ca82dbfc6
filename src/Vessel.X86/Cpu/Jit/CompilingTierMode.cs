namespace Vessel.X86.Cpu.Jit;

/// <summary>Whether hot decoded blocks are compiled to host code (<see cref="BlockCompiler"/>) or only interpreted.</summary>
public enum CompilingTierMode
{
    /// <summary>The interpreter alone runs guest code.</summary>
    Off,

    /// <summary>Blocks that have run <see cref="CompilingTierSettings.DefaultThreshold"/> times are compiled in the background.</summary>
    On,

    /// <summary>Every cacheable block is compiled on the vCPU thread before its first run (threshold 0: tests and bug hunts).</summary>
    Always,
}
