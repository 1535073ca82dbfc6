using Vessel.Core.Accel.CpuModels;

namespace Vessel.Core.Tests.Accel;

/// <summary>QEMU's -cpu syntax as <c>--cpu</c> reads it, with every spec kvm-unit-tests' x86/unittests.cfg passes.</summary>
public class CpuModelSpecTests
{
    [Theory]
    [InlineData("qemu64,+x2apic,+tsc-deadline")]
    [InlineData("qemu64,-x2apic,+tsc-deadline")]
    [InlineData("qemu64,+umip")]
    [InlineData("qemu64,+pcid,+invpcid")]
    [InlineData("qemu64,-pcid,-invpcid")]
    [InlineData("qemu64,vendor=GenuineIntel")]
    [InlineData("Opteron_G1,vendor=AuthenticAMD")]
    [InlineData("max")]
    [InlineData("max,vendor=GenuineIntel")]
    [InlineData("max,+vmx")]
    [InlineData("max,+svm,-npt")]
    [InlineData("max,host-phys-bits")]
    [InlineData("host")]
    [InlineData("host,migratable=no")]
    [InlineData("host,hv_passthrough")]
    [InlineData("IvyBridge,phys-bits=36,host-phys-bits=off")]
    [InlineData("Skylake-Server,host-phys-bits,+vmx,+vmx-mbec")]
    public void Every_spec_kvm_unit_tests_uses_parses(string text)
    {
        var spec = CpuModelSpec.Parse(text);

        Assert.Equal(text, spec.Text);
        Assert.Equal(text.Split(',')[0], spec.Model.Name);
    }

    [Fact]
    public void Plus_minus_and_assignments_become_overrides_with_minus_applied_last()
    {
        var spec = CpuModelSpec.Parse("qemu64,-x2apic,sse4_2=on,+x2apic,popcnt,umip=off");

        Assert.Equal(
            [("sse4.2", true), ("popcnt", true), ("umip", false), ("x2apic", true), ("x2apic", false)],
            spec.Overrides.Select(entry => (entry.Feature.Name, entry.Enabled)));
        Assert.False(spec.ExplicitlyEnables("x2apic"));
        Assert.True(spec.ExplicitlyEnables("popcnt"));
    }

    [Fact]
    public void Properties_are_read_into_the_spec()
    {
        var spec = CpuModelSpec.Parse("IvyBridge,phys-bits=36,host-phys-bits=off,vendor=AuthenticAMD,family=16,model=0x2,stepping=3,tsc-frequency=2G,migratable=no");

        Assert.Equal(36, spec.PhysicalAddressBits);
        Assert.False(spec.HostPhysicalAddressBits);
        Assert.Equal("AuthenticAMD", spec.EffectiveVendor);
        Assert.Equal((16, 2, 3), (spec.Family, spec.ModelNumber, spec.Stepping));
        Assert.Equal(2_000_000_000ul, spec.TscFrequencyHz);
        Assert.Equal(["migratable=no"], spec.IgnoredProperties);
    }

    [Theory]
    [InlineData("sse4.2")]
    [InlineData("sse4_2")]
    [InlineData("sse4-2")]
    [InlineData("SSE4.2")]
    public void Feature_names_accept_qemus_spellings(string name)
    {
        Assert.True(CpuFeatures.TryFind(name, out var feature));
        Assert.Equal("sse4.2", feature.Name);
    }

    [Theory]
    [InlineData("sse3", "pni")]
    [InlineData("xd", "nx")]
    [InlineData("tsc_deadline", "tsc-deadline")]
    [InlineData("lahf_lm", "lahf-lm")]
    public void Aliases_find_the_same_bit(string alias, string name)
    {
        Assert.True(CpuFeatures.TryFind(alias, out var feature));
        Assert.Equal(name, feature.Name);
    }

    [Fact]
    public void Model_names_are_case_insensitive_and_the_catalog_has_the_models_kvm_unit_tests_name()
    {
        Assert.Equal("Opteron_G1", CpuModelSpec.Parse("opteron_g1").Model.Name);
        foreach (string name in new[] { "qemu64", "max", "base", "host", "Opteron_G1", "Opteron_G2", "Opteron_G3", "IvyBridge", "Haswell", "Skylake-Client", "Skylake-Server" })
        {
            Assert.True(CpuModelCatalog.TryFind(name, out _), name);
        }
    }

    [Fact]
    public void Opteron_g1_is_an_amd_family_15_cpu_with_long_mode_and_no_cx16()
    {
        var model = CpuModelSpec.Parse("Opteron_G1").Model;

        Assert.Equal(("AuthenticAMD", 15), (model.Vendor, model.Family));
        Assert.True(model.Features.Contains(CpuFeatures.Get("lm")));
        Assert.True(model.Features.Contains(CpuFeatures.Get("syscall")));
        Assert.False(model.Features.Contains(CpuFeatures.Get("cx16")));
    }

    [Theory]
    [InlineData("pentium9", "unknown CPU model 'pentium9'. Models: qemu64, max, host, base, Opteron_G1")]
    [InlineData("", "no CPU model given.")]
    [InlineData(",+x2apic", "no CPU model given.")]
    [InlineData("qemu64,+x3apic", "unknown CPU feature or property '+x3apic'.")]
    [InlineData("qemu64,-frobnicate", "unknown CPU feature or property '-frobnicate'.")]
    [InlineData("qemu64,colour=blue", "unknown CPU feature or property 'colour'.")]
    [InlineData("qemu64,nonsense", "unknown CPU feature or property 'nonsense'.")]
    [InlineData("qemu64,,+x2apic", "empty item in 'qemu64,,+x2apic'")]
    [InlineData("qemu64,x2apic=maybe", "'x2apic=maybe': a switch is on or off")]
    [InlineData("qemu64,migratable=perhaps", "'migratable=perhaps': a switch is on or off")]
    [InlineData("qemu64,vendor=Intel", "'vendor=Intel': a vendor is 12 letters or digits")]
    [InlineData("qemu64,vendor", "'vendor': a vendor is 12 letters or digits")]
    [InlineData("IvyBridge,phys-bits=99", "'phys-bits=99': give a number from 32 to 52.")]
    [InlineData("IvyBridge,phys-bits", "'phys-bits' needs a value: give a number from 32 to 52.")]
    [InlineData("IvyBridge,stepping=x", "'stepping=x': give a number from 0 to 15.")]
    [InlineData("max,tsc-frequency=fast", "'tsc-frequency=fast': give a frequency")]
    public void Bad_specs_are_refused_naming_the_bad_item(string text, string expectedStart)
    {
        var exception = Assert.Throws<CpuModelException>(() => CpuModelSpec.Parse(text));

        Assert.StartsWith(expectedStart, exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_feature_message_says_what_is_accepted()
    {
        var exception = Assert.Throws<CpuModelException>(() => CpuModelSpec.Parse("qemu64,+x3apic"));

        Assert.Contains("x2apic", exception.Message, StringComparison.Ordinal);
        Assert.Contains("vendor=", exception.Message, StringComparison.Ordinal);
        Assert.Contains("docs/cpu.md", exception.Message, StringComparison.Ordinal);
    }
}
