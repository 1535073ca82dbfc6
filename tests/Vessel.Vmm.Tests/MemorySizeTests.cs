using Vessel.Vmm.Configuration;

namespace Vessel.Vmm.Tests;

public class MemorySizeTests
{
    [Theory]
    [InlineData("128", 128UL << 20)]
    [InlineData("512M", 512UL << 20)]
    [InlineData("512MiB", 512UL << 20)]
    [InlineData("2G", 2UL << 30)]
    [InlineData("2gb", 2UL << 30)]
    [InlineData("65536K", 64UL << 20)]
    public void Sizes_parse_like_qemu_with_binary_units_and_mebibytes_by_default(string text, ulong expected)
    {
        Assert.Equal(expected, MemorySize.Parse(text));
    }

    [Theory]
    [InlineData("")]
    [InlineData("abc")]
    [InlineData("-5M")]
    [InlineData("12Q")]
    [InlineData("0")]
    public void Malformed_sizes_are_rejected_naming_the_setting(string text)
    {
        var error = Assert.Throws<ConfigurationException>(() => MemorySize.Parse(text));
        Assert.Equal(ConfigField.Memory, error.Field);
    }
}
