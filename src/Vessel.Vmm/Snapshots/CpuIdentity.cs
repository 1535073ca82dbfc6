using System.Runtime.Intrinsics.X86;
using System.Text;
using Vessel.Core.Snapshots;

namespace Vessel.Vmm.Snapshots;

/// <summary>
/// The CPU a snapshot's guest ran on, as far as a restore must match it. Under KVM the guest sees (a subset of) the host
/// CPU's features, so the snapshot records the host's vendor, family/model/stepping and feature words, and a restore on a
/// host lacking any of those features is refused, naming them. The software CPU's features are its own, the same on every
/// host, so it records no host features and any x86-64 host restores it.
/// </summary>
internal sealed record CpuIdentity(string Vendor, uint Signature, uint[] Features)
{
    /// <summary>The feature words checked: CPUID 1 ECX/EDX, 7.0 EBX/ECX/EDX, 0x80000001 ECX/EDX.</summary>
    private static readonly string[] WordNames = ["CPUID.1:ECX", "CPUID.1:EDX", "CPUID.7.0:EBX", "CPUID.7.0:ECX", "CPUID.7.0:EDX", "CPUID.80000001h:ECX", "CPUID.80000001h:EDX"];

    private static readonly Dictionary<(int Word, int Bit), string> KnownFeatures = new()
    {
        [(0, 0)] = "sse3",
        [(0, 9)] = "ssse3",
        [(0, 12)] = "fma",
        [(0, 19)] = "sse4.1",
        [(0, 20)] = "sse4.2",
        [(0, 22)] = "movbe",
        [(0, 23)] = "popcnt",
        [(0, 25)] = "aes",
        [(0, 26)] = "xsave",
        [(0, 28)] = "avx",
        [(0, 29)] = "f16c",
        [(0, 30)] = "rdrand",
        [(2, 3)] = "bmi1",
        [(2, 5)] = "avx2",
        [(2, 8)] = "bmi2",
        [(2, 9)] = "erms",
        [(2, 16)] = "avx512f",
        [(2, 18)] = "rdseed",
        [(2, 19)] = "adx",
        [(2, 29)] = "sha",
        [(3, 8)] = "gfni",
        [(3, 9)] = "vaes",
        [(3, 10)] = "vpclmulqdq",
        [(5, 0)] = "lahf_lm",
        [(5, 5)] = "abm",
        [(6, 27)] = "rdtscp",
    };

    /// <summary>The software CPU's identity: nothing of the host's is visible to its guest.</summary>
    public static CpuIdentity Software { get; } = new("software", 0, new uint[WordNames.Length]);

    /// <summary>This host's CPU.</summary>
    public static CpuIdentity Host()
    {
        if (!X86Base.IsSupported)
        {
            return Software;
        }

        var (_, vendorB, vendorC, vendorD) = X86Base.CpuId(0, 0);
        Span<byte> vendor = stackalloc byte[12];
        BitConverter.TryWriteBytes(vendor, vendorB);
        BitConverter.TryWriteBytes(vendor[4..], vendorD);
        BitConverter.TryWriteBytes(vendor[8..], vendorC);
        var (signature, _, ecx1, edx1) = X86Base.CpuId(1, 0);
        var (_, ebx7, ecx7, _) = X86Base.CpuId(7, 0);
        var (_, _, ecxExtended, edxExtended) = X86Base.CpuId(unchecked((int)0x8000_0001), 0);

        // Left out: OSXSAVE and the hypervisor bit (the host OS's, not the CPU's), and 7.0:EDX, which is mostly
        // speculation-control bits that microcode updates change and that KVM's guests do not depend on to run.
        const uint HostDependent = (1u << 27) | (1u << 31);
        return new CpuIdentity(Encoding.ASCII.GetString(vendor), (uint)signature,
            [(uint)ecx1 & ~HostDependent, (uint)edx1, (uint)ebx7, (uint)ecx7, 0, (uint)ecxExtended, (uint)edxExtended]);
    }

    /// <summary>The identity a guest on <paramref name="acceleratorName"/> depends on.</summary>
    public static CpuIdentity For(string acceleratorName) => acceleratorName == "kvm" ? Host() : Software;

    public void Write(StateWriter writer)
    {
        writer.WriteString(Vendor);
        writer.WriteUInt32(Signature);
        writer.WriteInt32(Features.Length);
        foreach (uint word in Features)
        {
            writer.WriteUInt32(word);
        }
    }

    public static CpuIdentity Read(StateReader reader)
    {
        string vendor = reader.ReadString();
        uint signature = reader.ReadUInt32();
        int count = reader.ReadInt32();
        if (count != WordNames.Length)
        {
            throw reader.Malformed($"the CPU identity has {count} feature words, not {WordNames.Length}");
        }

        var features = new uint[count];
        for (int index = 0; index < count; index++)
        {
            features[index] = reader.ReadUInt32();
        }

        return new CpuIdentity(vendor, signature, features);
    }

    /// <summary>Null when a guest that ran on this identity can run on <paramref name="host"/>; otherwise what is missing.</summary>
    public string? WhatIsMissingOn(CpuIdentity host)
    {
        if (this == Software || Vendor == Software.Vendor)
        {
            return null;
        }

        if (host.Vendor != Vendor)
        {
            return $"the snapshot was taken on a {Vendor} CPU and this host's is {host.Vendor}";
        }

        var missing = new List<string>();
        for (int word = 0; word < Features.Length; word++)
        {
            uint lacking = Features[word] & ~host.Features[word];
            for (int bit = 0; bit < 32; bit++)
            {
                if ((lacking & (1u << bit)) != 0)
                {
                    missing.Add(KnownFeatures.TryGetValue((word, bit), out string? name) ? name : $"{WordNames[word]} bit {bit}");
                }
            }
        }

        return missing.Count == 0 ? null : $"this host's CPU lacks {string.Join(", ", missing)}, which the snapshot's host had";
    }
}
