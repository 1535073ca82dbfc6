using Vessel.Vmm.Configuration;

namespace Vessel.Vmm.Tests;

public sealed class VsockConfigTests
{
    [Fact]
    public void Cid_and_socket_parse_and_firecrackers_names_are_accepted()
    {
        Assert.Equal(new VsockConfig { GuestCid = 3, UdsPath = "/tmp/vm.vsock" }, VsockConfig.Parse("cid=3,socket=/tmp/vm.vsock"));
        Assert.Equal(new VsockConfig { GuestCid = 42, UdsPath = "/run/v" }, VsockConfig.Parse("guest_cid=42,uds_path=/run/v"));
    }

    [Theory]
    [InlineData("cid=2,socket=/tmp/v", "cid '2' is not a context ID from 3")]
    [InlineData("cid=x,socket=/tmp/v", "cid 'x'")]
    [InlineData("socket=/tmp/v", "cid is missing")]
    [InlineData("cid=3", "socket is missing")]
    [InlineData("cid=3,socket=/tmp/v,port=5", "unknown 'port=5'. Write cid=N,socket=PATH")]
    public void Bad_vsock_flags_say_what_is_wrong_and_how_to_write_them(string text, string expected)
    {
        var error = Assert.Throws<ConfigurationException>(() => VsockConfig.Parse(text));

        Assert.Contains(expected, error.Message);
        Assert.StartsWith($"--vsock '{text}'", error.Message);
        Assert.True(error.IsInvalidValue);
    }
}
