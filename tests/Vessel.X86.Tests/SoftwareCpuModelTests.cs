using Vessel.Core.Accel.CpuModels;
using Vessel.Core.Logging;
using Vessel.X86.Cpu;
using Vessel.X86.Tests.Guests;

namespace Vessel.X86.Tests;

/// <summary>A <c>--cpu</c> model meeting the software CPU: what CPUID reports, what is warned about, what the APIC allows.</summary>
public class SoftwareCpuModelTests
{
    private sealed class RecordingLog : IMachineLog
    {
        public List<string> Warnings { get; } = [];

        public List<string> Infos { get; } = [];

        public void Info(string message) => Infos.Add(message);

        public void Warn(string message) => Warnings.Add(message);
    }

    private static (CpuidTemplate Template, RecordingLog Log) Create(string spec)
    {
        var log = new RecordingLog();
        return (SoftwareCpuModel.Create(CpuModelSpec.Parse(spec), 1, log), log);
    }

    [Fact]
    public void No_cpu_model_is_the_default_template()
    {
        var template = SoftwareCpuModel.Create(null, 2, NullMachineLog.Instance);

        Assert.Equal(CpuidTemplate.Default.Leaf1Ecx, template.Leaf1Ecx);
        Assert.Equal(CpuidTemplate.Default.Leaf1Edx, template.Leaf1Edx);
        Assert.Equal("GenuineIntel", template.Vendor);
        Assert.Equal(2, template.LogicalProcessorCount);
    }

    [Theory]
    [InlineData("max")]
    [InlineData("host")]
    public void Max_and_host_are_everything_implemented_with_the_default_identity(string spec)
    {
        var (template, log) = Create(spec);
        var defaults = CpuidTemplate.Default;

        Assert.Equal(
            (defaults.Vendor, defaults.Family, defaults.Model, defaults.Stepping, defaults.Leaf1Edx, defaults.Leaf1Ecx, defaults.Leaf7Ebx, defaults.Leaf7Ecx, defaults.ExtendedLeaf1Edx, defaults.ExtendedLeaf1Ecx),
            (template.Vendor, template.Family, template.Model, template.Stepping, template.Leaf1Edx, template.Leaf1Ecx, template.Leaf7Ebx, template.Leaf7Ecx, template.ExtendedLeaf1Edx, template.ExtendedLeaf1Ecx));
        Assert.Empty(log.Warnings);
    }

    [Fact]
    public void Qemu64_lacks_x2apic_tsc_deadline_sse4_popcnt_and_rdtscp_and_is_amd()
    {
        var (template, _) = Create("qemu64");

        Assert.Equal(0u, template.Leaf1Ecx & (uint)(CpuidFeatures1Ecx.X2Apic | CpuidFeatures1Ecx.TscDeadline | CpuidFeatures1Ecx.Sse41
            | CpuidFeatures1Ecx.Sse42 | CpuidFeatures1Ecx.Popcnt | CpuidFeatures1Ecx.Ssse3));
        Assert.NotEqual(0u, template.Leaf1Ecx & (uint)(CpuidFeatures1Ecx.Sse3 | CpuidFeatures1Ecx.Cmpxchg16b));
        Assert.Equal(0u, template.ExtendedLeaf1Edx & (1u << 27));
        Assert.NotEqual(0u, template.ExtendedLeaf1Edx & (1u << 29));
        Assert.Equal(0u, template.Leaf7Ecx);
        Assert.True(template.IsAmd);
    }

    [Fact]
    public void Plus_and_minus_switch_implemented_features()
    {
        var (template, log) = Create("qemu64,+x2apic,+tsc-deadline,+umip");
        var (without, _) = Create("max,-x2apic");

        Assert.NotEqual(0u, template.Leaf1Ecx & (uint)CpuidFeatures1Ecx.X2Apic);
        Assert.NotEqual(0u, template.Leaf1Ecx & (uint)CpuidFeatures1Ecx.TscDeadline);
        Assert.Equal(1u << 2, template.Leaf7Ecx);
        Assert.Empty(log.Warnings);
        Assert.Equal(0u, without.Leaf1Ecx & (uint)CpuidFeatures1Ecx.X2Apic);
        Assert.NotEqual(0u, without.Leaf1Ecx & (uint)CpuidFeatures1Ecx.TscDeadline);
    }

    [Fact]
    public void A_requested_feature_the_software_cpu_lacks_stays_off_with_one_warning()
    {
        var (template, log) = Create("max,+vmx,+vmx");

        Assert.Equal(0u, template.Leaf1Ecx & (1u << 5));
        var warning = Assert.Single(log.Warnings);
        Assert.Equal("software CPU doesn't support requested feature: CPUID.01H:ECX.vmx [bit 5]", warning);
    }

    [Fact]
    public void A_models_own_missing_features_are_dropped_silently()
    {
        var (template, log) = Create("Skylake-Server");

        Assert.Empty(log.Warnings);
        Assert.Equal(0u, template.Leaf7Ebx);
        Assert.Equal("GenuineIntel", template.Vendor);
        Assert.Equal(85, template.Model);
        Assert.Equal(0x50654u, CpuidSignature.Encode(6, 85, 4));
    }

    [Fact]
    public void Phys_bits_the_cpu_cannot_honour_is_warned_about_and_migratable_is_noted()
    {
        var (_, log) = Create("IvyBridge,phys-bits=36,host-phys-bits=off");
        var (_, hostLog) = Create("host,migratable=no,hv_passthrough");

        Assert.Contains(log.Warnings, message => message.Contains("phys-bits=36", StringComparison.Ordinal));
        Assert.Empty(hostLog.Warnings);
        Assert.Contains(hostLog.Infos, message => message.Contains("migratable=no", StringComparison.Ordinal));
    }

    [Fact]
    public void Vendor_override_reaches_cpuid_leaf_0()
    {
        var (template, _) = Create("qemu64,vendor=GenuineIntel");
        var (amd, _) = Create("max,vendor=AuthenticAMD");

        Assert.False(template.IsAmd);
        Assert.True(amd.IsAmd);
        Assert.Equal("AuthenticAMD", amd.Vendor);
    }

    [Theory]
    [InlineData("max", true)]
    [InlineData("max,-x2apic", false)]
    public void The_apic_refuses_x2apic_mode_when_cpuid_does_not_offer_it(string cpu, bool accepted)
    {
        using var guest = new LongModeGuest(a => LongModeGuest.EmitExit(a, 1), cpu: cpu);

        // IA32_APIC_BASE: the default base, enabled (bit 11), BSP, then EXTD (bit 10).
        Assert.Equal(accepted, guest.Cpu.TryWriteMsr(0x1B, 0xFEE0_0000 | (1u << 11) | (1u << 10) | (1u << 8)));
    }
}
