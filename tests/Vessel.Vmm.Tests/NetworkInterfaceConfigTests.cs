using Vessel.Devices.Networking;
using Vessel.Vmm.Configuration;

namespace Vessel.Vmm.Tests;

public sealed class NetworkInterfaceConfigTests
{
    [Fact]
    public void User_networking_parses_qemu_style_host_forwards()
    {
        var config = NetworkInterfaceConfig.Parse("user,hostfwd=tcp:127.0.0.1:8080-:80,hostfwd=udp::5353-10.0.2.15:53,mac=52:54:00:aa:bb:cc", 0);

        Assert.Equal(NetworkBackendKind.User, config.Backend);
        Assert.Equal("net0", config.Id);
        Assert.Equal([new HostForward("tcp", "127.0.0.1", 8080, 80), new HostForward("udp", null, 5353, 53)], config.HostForwards);
        Assert.Equal([0x52, 0x54, 0x00, 0xAA, 0xBB, 0xCC], config.ResolveMac());
        config.Validate(0);
    }

    [Fact]
    public void Tap_takes_a_device_name_and_an_id()
    {
        var config = NetworkInterfaceConfig.Parse("tap=vessel0,id=uplink", 3);

        Assert.Equal(NetworkBackendKind.Tap, config.Backend);
        Assert.Equal("vessel0", config.HostDeviceName);
        Assert.Equal("uplink", config.Id);
    }

    [Theory]
    [InlineData("bridge")]
    [InlineData("user,hostfwd=tcp:127.0.0.1:8080")]
    [InlineData("user,hostfwd=tcp::70000-:80")]
    [InlineData("user,hostfwd=tcp::8080-10.0.2.20:80")]
    [InlineData("user,speed=fast")]
    [InlineData("mac=52:54:00:aa:bb:cc")]
    public void Malformed_net_options_are_refused_naming_the_option(string text)
    {
        var error = Assert.Throws<ConfigurationException>(() => NetworkInterfaceConfig.Parse(text, 0));

        Assert.True(error.IsInvalidValue);
        Assert.StartsWith($"--net '{text}'", error.Message);
    }

    [Theory]
    [InlineData("user,mac=01:00:5e:00:00:01")]
    [InlineData("user,mac=52:54:00")]
    [InlineData("tap=a-name-longer-than-fifteen")]
    public void Validation_refuses_multicast_or_malformed_macs_and_impossible_tap_names(string text)
    {
        var config = NetworkInterfaceConfig.Parse(text, 0);

        Assert.Throws<ConfigurationException>(() => config.Validate(0));
    }

    [Fact]
    public void The_default_mac_is_stable_locally_administered_and_unicast()
    {
        byte[] first = new NetworkInterfaceConfig { Id = "net0", Backend = NetworkBackendKind.User }.ResolveMac();
        byte[] again = new NetworkInterfaceConfig { Id = "net0", Backend = NetworkBackendKind.User }.ResolveMac();
        byte[] other = new NetworkInterfaceConfig { Id = "net1", Backend = NetworkBackendKind.User }.ResolveMac();

        Assert.Equal(first, again);
        Assert.NotEqual(first, other);
        Assert.Equal(2, first[0] & 3);
    }

    [Fact]
    public void Vhost_on_parses_for_a_tap_device_and_is_refused_for_user_networking()
    {
        var tap = NetworkInterfaceConfig.Parse("tap=vtap0,vhost=on", 0);
        tap.Validate(0);
        Assert.True(tap.Vhost);
        Assert.False(NetworkInterfaceConfig.Parse("tap=vtap0,vhost=off", 0).Vhost);

        var user = NetworkInterfaceConfig.Parse("user,vhost=on", 0);
        var error = Assert.Throws<ConfigurationException>(() => user.Validate(0));
        Assert.Contains("vhost=on works with a TAP device only", error.Message);
        Assert.Contains("unknown 'vhost=yes'", Assert.Throws<ConfigurationException>(() => NetworkInterfaceConfig.Parse("tap=vtap0,vhost=yes", 0)).Message);
    }
}
