using Vessel.Core.Accel.CpuModels;

namespace Vessel.Core.Tests.Accel;

/// <summary>A model meeting what an accelerator implements (QEMU's x86_cpu_filter_features).</summary>
public class ResolvedCpuModelTests
{
    private static readonly CpuFeatureSet Implemented = CpuFeatureSet.Of("fpu", "tsc", "cx8", "apic", "sep", "pni", "x2apic", "lm", "syscall", "nx");

    [Fact]
    public void A_named_model_gets_its_features_the_accelerator_implements()
    {
        var resolved = ResolvedCpuModel.Resolve(CpuModelSpec.Parse("qemu64"), Implemented, "test");

        Assert.Equal(CpuFeatureSet.Of("fpu", "tsc", "cx8", "apic", "sep", "pni", "lm", "syscall", "nx"), resolved.Features);
        Assert.Empty(resolved.Warnings);
        Assert.Equal("AuthenticAMD", resolved.Vendor);
    }

    [Fact]
    public void Max_is_everything_implemented_minus_what_is_switched_off()
    {
        var resolved = ResolvedCpuModel.Resolve(CpuModelSpec.Parse("max,-x2apic"), Implemented, "test");

        Assert.Equal(Implemented.With(CpuFeatures.Get("x2apic"), false), resolved.Features);
        Assert.Null(resolved.Vendor);
    }

    [Fact]
    public void Requested_missing_features_are_warned_about_once_each_in_qemus_words()
    {
        var resolved = ResolvedCpuModel.Resolve(CpuModelSpec.Parse("max,+vmx,+svm,-npt,vmx=on,+vmx-mbec"), Implemented, "TCG");

        Assert.Equal(
            [
                "TCG doesn't support requested feature: CPUID.01H:ECX.vmx [bit 5]",
                "TCG doesn't support requested feature: CPUID.80000001H:ECX.svm [bit 2]",
                "TCG doesn't support requested feature: MSR(48BH).vmx-mbec [bit 22]",
            ],
            resolved.Warnings);
        Assert.False(resolved.Features.Contains(CpuFeatures.Get("vmx")));
    }

    [Fact]
    public void A_feature_switched_on_and_then_off_is_not_warned_about()
    {
        var resolved = ResolvedCpuModel.Resolve(CpuModelSpec.Parse("qemu64,+pcid,-pcid"), Implemented, "test");

        Assert.Empty(resolved.Warnings);
    }

    [Fact]
    public void Family_model_and_stepping_overrides_win_over_the_models()
    {
        var resolved = ResolvedCpuModel.Resolve(CpuModelSpec.Parse("Opteron_G1,family=16,model=2,stepping=3"), Implemented, "test");

        Assert.Equal((16, 2, 3), (resolved.Family, resolved.ModelNumber, resolved.Stepping));
    }
}
