namespace Vessel.Core.Accel.CpuModels;

/// <summary>The CPUID.01H:EAX processor signature (Intel SDM 2A, Figure 3-6; AMD APM 3, Fn0000_0001_EAX).</summary>
public static class CpuidSignature
{
    /// <summary>
    /// Stepping [3:0], model [7:4], family [11:8]; a family above 15 puts 15 in the family field and the rest in
    /// extended family [27:20]; families 6 and 15 and above carry model bits [7:4] in extended model [19:16].
    /// </summary>
    public static uint Encode(int family, int model, int stepping)
    {
        uint baseFamily = (uint)Math.Min(family, 0xF);
        uint extendedFamily = (uint)Math.Max(family - 0xF, 0);
        uint extendedModel = family is 6 or >= 15 ? (uint)(model >> 4) & 0xF : 0;
        return (extendedFamily << 20) | (extendedModel << 16) | (baseFamily << 8) | ((uint)(model & 0xF) << 4) | ((uint)stepping & 0xF);
    }
}
