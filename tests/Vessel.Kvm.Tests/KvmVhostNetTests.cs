using Vessel.Kvm.Tests.Infrastructure;

namespace Vessel.Kvm.Tests;

/// <summary>/dev/vhost-net through its ioctls: the availability sentence here, and the set-up ioctls where the host has it.</summary>
public sealed class KvmVhostNetTests
{
    /// <summary>VIRTIO_F_VERSION_1 and VIRTIO_NET_F_MRG_RXBUF, which every vhost-net since Linux 4.0 offers.</summary>
    private const ulong Version1 = 1UL << 32;
    private const ulong MergeableReceiveBuffers = 1UL << 15;

    [Fact]
    public void Availability_follows_the_device_node_and_a_missing_one_is_named_with_the_module_to_load()
    {
        bool available = KvmVhostNet.IsAvailable(out string reason);

        Assert.Equal(File.Exists(KvmVhostNet.DevicePath), available);
        if (!available)
        {
            Assert.Equal("this host has no /dev/vhost-net (the vhost_net module is not loaded); load it with 'modprobe vhost_net' or remove vhost=on.", reason);
        }
    }

    [RequiresVhostNetFact]
    public void A_fresh_instance_takes_an_owner_and_offers_version_1_and_mergeable_receive_buffers()
    {
        using var vhost = KvmVhostNet.Open();

        vhost.SetOwner();
        ulong features = vhost.GetFeatures();

        Assert.Equal(Version1 | MergeableReceiveBuffers, features & (Version1 | MergeableReceiveBuffers));
        vhost.SetFeatures(features & (Version1 | MergeableReceiveBuffers));
    }

    [RequiresVhostNetFact]
    public void A_second_owner_is_refused_with_the_ioctl_named()
    {
        using var vhost = KvmVhostNet.Open();
        vhost.SetOwner();

        var error = Assert.Throws<IOException>(vhost.SetOwner);

        Assert.Contains("VHOST_SET_OWNER", error.Message);
    }
}

/// <summary>A fact that needs /dev/vhost-net, openable by this user; elsewhere it is skipped with the reason.</summary>
public sealed class RequiresVhostNetFactAttribute : FactAttribute
{
    public RequiresVhostNetFactAttribute()
    {
        if (!KvmVhostNet.IsAvailable(out string reason))
        {
            Skip = "Needs vhost-net: " + reason;
        }
    }
}
