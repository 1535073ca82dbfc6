using Iced.Intel;
using Vessel.X86.Cpu.Decoding;

namespace Vessel.X86.Tests.Sse;

public class CoverageTests
{
    private static readonly CpuidFeature[] Advertised =
    [
        CpuidFeature.FPU, CpuidFeature.FPU287, CpuidFeature.FPU387, CpuidFeature.CMOV, CpuidFeature.MMX, CpuidFeature.FXSR,
        CpuidFeature.SSE, CpuidFeature.SSE2, CpuidFeature.SSE3, CpuidFeature.SSSE3, CpuidFeature.SSE4_1, CpuidFeature.SSE4_2,
    ];

    /// <summary>What CPUID promises must be there: every legacy-encoded x87/MMX/SSE-SSE4.2 instruction has a handler.</summary>
    [Fact]
    public void Every_legacy_instruction_of_an_advertised_floating_point_or_SIMD_extension_has_a_handler()
    {
        var missing = new List<string>();
        foreach (var code in Enum.GetValues<Code>())
        {
            if (code == Code.INVALID || code.ToOpCode().Encoding != EncodingKind.Legacy)
            {
                continue;
            }

            var features = code.CpuidFeatures();
            bool simd = features.Any(feature => feature is CpuidFeature.FPU or CpuidFeature.FPU287 or CpuidFeature.FPU387 or CpuidFeature.MMX
                or CpuidFeature.SSE or CpuidFeature.SSE2 or CpuidFeature.SSE3 or CpuidFeature.SSSE3 or CpuidFeature.SSE4_1 or CpuidFeature.SSE4_2);
            if (simd && features.All(feature => Advertised.Contains(feature)) && !HandlerTable.Instance.IsImplemented(code))
            {
                missing.Add(code.ToString());
            }
        }

        Assert.True(missing.Count == 0, "no handler for: " + string.Join(", ", missing));
    }
}
