using Vessel.Core.Accel.CpuModels;
using Vessel.Core.Logging;
using Vessel.Kvm.Cpuid;

namespace Vessel.Kvm.Tests.Cpuid;

/// <summary>A <c>--cpu</c> model laid over what KVM supports, checked on made-up supported entries (no /dev/kvm needed).</summary>
public sealed class KvmCpuModelTests
{
    private const uint X2Apic = 1u << 21;
    private const uint Sse42 = 1u << 20;
    private const uint Sse3 = 1u << 0;
    private const uint OsXsave = 1u << 27;

    private sealed class RecordingLog : IMachineLog
    {
        public List<string> Warnings { get; } = [];

        public void Info(string message)
        {
        }

        public void Warn(string message) => Warnings.Add(message);
    }

    /// <summary>A host offering SSE3, SSE4.2, x2APIC, VMX and OSXSAVE; GenuineIntel, family 6 model 0x55.</summary>
    private static CpuidEntry[] Supported() =>
    [
        new(0x0, 0, false, 0x16, 0x756E_6547, 0x6C65_746E, 0x4965_6E69),
        new(0x1, 0, false, 0x0005_0654, 0, Sse3 | Sse42 | X2Apic | CpuTemplate.Leaf1EcxVmx | OsXsave, 1u << 0),
        new(0x7, 0, true, 0, 1u << 10, 1u << 2, 0),
    ];

    private static CpuidEntry[] Apply(string spec, RecordingLog? log = null)
    {
        var entries = Supported();
        var parsed = CpuModelSpec.Parse(spec);
        var template = CpuTemplate.Default.WithModel(KvmCpuModel.Create(parsed, entries, log ?? new RecordingLog()), parsed);
        template.Apply(entries, vcpuIndex: 0, vcpuCount: 1);
        return entries;
    }

    [Fact]
    public void Max_keeps_what_kvm_offers_except_what_is_switched_off()
    {
        var entries = Apply("max,-x2apic");

        Assert.Equal(0u, entries[1].Ecx & X2Apic);
        Assert.NotEqual(0u, entries[1].Ecx & Sse42);
        Assert.Equal(0x0005_0654u, entries[1].Eax);
        Assert.Equal(0u, entries[1].Ecx & CpuTemplate.Leaf1EcxVmx);
    }

    [Fact]
    public void Qemu64_narrows_to_its_list_keeps_the_host_vendor_and_the_run_time_bits()
    {
        var entries = Apply("qemu64");

        Assert.Equal(0u, entries[1].Ecx & (X2Apic | Sse42));
        Assert.NotEqual(0u, entries[1].Ecx & Sse3);
        Assert.NotEqual(0u, entries[1].Ecx & OsXsave);
        Assert.Equal(0x756E_6547u, entries[0].Ebx);
        Assert.Equal(CpuidSignature.Encode(15, 107, 1), entries[1].Eax);
        Assert.Equal(0u, entries[2].Ebx);
    }

    [Fact]
    public void Vendor_is_set_in_leaf_0_when_asked()
    {
        var entries = Apply("qemu64,vendor=AuthenticAMD");

        Assert.Equal((0x6874_7541u, 0x6974_6E65u, 0x444D_4163u), (entries[0].Ebx, entries[0].Edx, entries[0].Ecx));
    }

    [Fact]
    public void Asking_for_vmx_lifts_the_default_mask_and_missing_features_are_warned_about()
    {
        var log = new RecordingLog();
        var entries = Apply("max,+vmx,+svm", log);

        Assert.NotEqual(0u, entries[1].Ecx & CpuTemplate.Leaf1EcxVmx);
        Assert.Equal(["KVM doesn't support requested feature: CPUID.80000001H:ECX.svm [bit 2]"], log.Warnings);
    }
}
