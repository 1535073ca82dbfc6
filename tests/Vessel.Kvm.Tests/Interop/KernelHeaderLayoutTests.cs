using System.Reflection;
using System.Runtime.InteropServices;
using Vessel.Kvm.Interop;
using Vessel.Kvm.Tests.Infrastructure;

namespace Vessel.Kvm.Tests.Interop;

/// <summary>Our structs and numbers against the kernel's own headers, through a C probe compiled with gcc.</summary>
public sealed class KernelHeaderLayoutTests
{
    public static TheoryData<string> StructNames => [.. KernelHeaderExpectations.Structs.Select(s => s.CType)];

    [RequiresKernelHeadersTheory]
    [MemberData(nameof(StructNames))]
    public void Struct_size_and_every_field_offset_match_the_kernel_header(string cType)
    {
        StructLayoutExpectation layout = KernelHeaderExpectations.Structs.Single(s => s.CType == cType);

        ulong expectedSize = KernelHeaderProbe.SizeOf(cType);
        ulong actualSize = (ulong)Marshal.SizeOf(layout.ClrType);
        Assert.True(expectedSize == actualSize, $"sizeof({cType}) is {expectedSize} in the header, but {layout.ClrType.Name} is {actualSize} bytes.");
        foreach (var (cMember, clrPath) in layout.Fields)
        {
            ulong expected = KernelHeaderProbe.OffsetOf(cType, cMember);
            ulong actual = ClrOffset(layout.ClrType, clrPath);
            Assert.True(expected == actual, $"offsetof({cType}, {cMember}) is {expected} in the header, but {layout.ClrType.Name}.{clrPath} is at {actual}.");
        }
    }

    [RequiresKernelHeadersFact]
    public void Every_ioctl_number_matches_the_kernel_header()
    {
        foreach (var (macro, ours) in KernelHeaderExpectations.Ioctls)
        {
            ulong expected = KernelHeaderProbe.Macro(macro);
            Assert.True(expected == ours, $"{macro} is 0x{expected:x} in the header, but we compute 0x{ours:x}.");
        }
    }

    [RequiresKernelHeadersFact]
    public void Every_constant_and_enum_member_matches_the_kernel_header()
    {
        foreach (var (macro, ours) in KernelHeaderExpectations.Constants.Concat(
                     KernelHeaderExpectations.PrefixedEnums.SelectMany(e => KernelHeaderExpectations.EnumMacros(e.Enum, e.Prefix))))
        {
            ulong expected = KernelHeaderProbe.Macro(macro);
            Assert.True(expected == ours, $"{macro} is {expected} in the header, but ours is {ours}.");
        }
    }

    [Fact]
    public void Every_ioctl_we_define_is_checked_against_the_header()
    {
        var checkedValues = KernelHeaderExpectations.Ioctls.Select(i => i.Ours).ToHashSet();
        var defined = new[] { typeof(KvmIoctls), typeof(VhostIoctls) }.SelectMany(type => type.GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.FieldType == typeof(ulong))
            .Select(f => (Name: $"{type.Name}.{f.Name}", Value: (ulong)f.GetValue(null)!)));

        Assert.All(defined, field => Assert.True(checkedValues.Contains(field.Value), $"{field.Name} has no header check."));
    }

    [Fact]
    public void Every_interop_struct_has_a_layout_check()
    {
        var covered = KernelHeaderExpectations.Structs.Select(s => s.ClrType).ToHashSet();
        var structs = typeof(KvmRun).Assembly.GetTypes()
            .Where(t => t.Namespace == typeof(KvmRun).Namespace && t.IsValueType && !t.IsEnum && !t.IsNested);

        // The kvm_run union members are checked through kvm_run's own offsets.
        var unionMembers = new[] { typeof(KvmRunHardware), typeof(KvmRunFailEntry), typeof(KvmRunIo), typeof(KvmRunMmio), typeof(KvmRunInternal), typeof(KvmRunSystemEvent) };
        Assert.All(structs.Except(unionMembers), type => Assert.True(covered.Contains(type), $"{type.Name} has no layout check against the header."));
    }

    [Fact]
    public void Ioctl_encoding_follows_the_asm_generic_bit_layout()
    {
        // _IOWR(0xAE, 0x05, 8-byte struct): direction 3 in bits 30-31, size 8 in bits 16-29, type 0xAE, number 5.
        Assert.Equal(0xC008AE05UL, KvmIoctls.GetSupportedCpuid);
        Assert.Equal(0xAE80UL, KvmIoctls.Run);
        Assert.Equal(0x4008AE48UL, KvmIoctls.SetIdentityMapAddr);
    }

    private static ulong ClrOffset(Type type, string path)
    {
        if (path == "sizeof")
        {
            return (ulong)Marshal.SizeOf(type);
        }

        ulong extra = 0;
        int plus = path.IndexOf('+', StringComparison.Ordinal);
        if (plus >= 0)
        {
            extra = ulong.Parse(path[(plus + 1)..], System.Globalization.CultureInfo.InvariantCulture);
            path = path[..plus];
        }

        ulong offset = 0;
        foreach (string name in path.Split('.'))
        {
            FieldInfo field = type.GetField(name, BindingFlags.Public | BindingFlags.Instance)
                ?? throw new InvalidOperationException($"{type.Name} has no field {name}.");
            offset += (ulong)Marshal.OffsetOf(type, name);
            type = field.FieldType;
        }

        return offset + extra;
    }
}
