using Vessel.Core.Snapshots;
using Vessel.Devices.Networking;
using Vessel.Devices.Storage;
using Vessel.Vmm.Configuration;
using Vessel.Vmm.Snapshots;

namespace Vessel.Vmm.Tests.Snapshots;

public sealed class SnapshotFileTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("vessel-snapfile-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    [Fact]
    public void A_written_snapshot_file_reads_back_its_body()
    {
        string path = Path.Combine(folder, "a.snap");
        byte[] body = [.. Enumerable.Range(0, 1000).Select(index => (byte)index)];

        SnapshotFile.Write(path, body);
        var reader = SnapshotFile.Read(path);

        Assert.Equal(body, reader.ReadRaw(body.Length).ToArray());
        Assert.True(reader.AtEnd);
        Assert.False(File.Exists(path + ".partial"));
    }

    [Fact]
    public void Every_truncation_of_a_snapshot_file_is_refused()
    {
        string path = Path.Combine(folder, "b.snap");
        SnapshotFile.Write(path, new byte[300]);
        byte[] whole = File.ReadAllBytes(path);

        for (int length = 0; length < whole.Length; length += 7)
        {
            File.WriteAllBytes(path, whole[..length]);
            Assert.Throws<SnapshotFormatException>(() => SnapshotFile.Read(path));
        }
    }

    [Fact]
    public void A_flipped_bit_anywhere_in_a_snapshot_file_is_refused()
    {
        string path = Path.Combine(folder, "c.snap");
        SnapshotFile.Write(path, new byte[300]);
        byte[] whole = File.ReadAllBytes(path);

        for (int at = 0; at < whole.Length; at += 5)
        {
            byte[] corrupted = [.. whole];
            corrupted[at] ^= 0x10;
            File.WriteAllBytes(path, corrupted);
            var exception = Assert.Throws<SnapshotFormatException>(() => SnapshotFile.Read(path));
            Assert.Contains(path, exception.Message);
        }
    }

    [Fact]
    public void A_file_that_is_not_a_snapshot_says_so()
    {
        string path = Path.Combine(folder, "d.snap");
        File.WriteAllText(path, "this is not a snapshot, it is a text file long enough to have a header and a checksum");

        var exception = Assert.Throws<SnapshotFormatException>(() => SnapshotFile.Read(path));

        Assert.Contains("does not start with a Vessel snapshot header", exception.Message);
    }

    [Fact]
    public void A_machine_configuration_survives_the_snapshot_section_whole()
    {
        var config = new MachineConfig
        {
            KernelPath = "/boot/vmlinux",
            InitrdPath = "/boot/initrd",
            CommandLine = "console=ttyS0 quiet",
            MemoryBytes = 256UL << 20,
            VcpuCount = 2,
            Accelerator = AcceleratorKind.Software,
            Cpu = "qemu64,+x2apic",
            Jit = true,
            Entropy = new EntropyConfig(),
            Vsock = new VsockConfig { GuestCid = 3, UdsPath = "/run/vm.vsock" },
            Disks = [new DiskConfig { Id = "rootfs", Path = "/var/disk.img", ReadOnly = true, Format = DiskImageFormat.Qcow2 }],
            NetworkInterfaces =
            [
                new NetworkInterfaceConfig
                {
                    Id = "eth0",
                    Backend = NetworkBackendKind.User,
                    GuestMac = "52:54:00:12:34:56",
                    HostForwards = [new HostForward("tcp", "127.0.0.1", 8080, 80)],
                },
            ],
        };
        var writer = new StateWriter();
        MachineConfigState.Write(writer, config);

        var read = MachineConfigState.Read(new StateReader(writer.ToArray(), "test"), MachineConfigState.Version);

        Assert.Equal(config.KernelPath, read.KernelPath);
        Assert.Equal(config.InitrdPath, read.InitrdPath);
        Assert.Equal(config.CommandLine, read.CommandLine);
        Assert.Equal(config.MemoryBytes, read.MemoryBytes);
        Assert.Equal(config.VcpuCount, read.VcpuCount);
        Assert.Equal(config.Accelerator, read.Accelerator);
        Assert.Equal(config.Cpu, read.Cpu);
        Assert.Equal(config.Jit, read.Jit);
        Assert.NotNull(read.Entropy);
        Assert.Equal(config.Vsock, read.Vsock);
        Assert.Equal(config.Disks[0], Assert.Single(read.Disks));
        var network = Assert.Single(read.NetworkInterfaces);
        Assert.Equal(("eth0", NetworkBackendKind.User, "52:54:00:12:34:56"), (network.Id, network.Backend, network.GuestMac));
        Assert.Equal(config.NetworkInterfaces[0].HostForwards, network.HostForwards);
        Assert.Equal(config.Vsock, read.Vsock);
    }

    [Fact]
    public void A_version_1_configuration_section_without_vsock_still_reads()
    {
        var config = new MachineConfig { KernelPath = "/boot/vmlinux", MemoryBytes = 64UL << 20, VcpuCount = 1 };
        var writer = new StateWriter();
        MachineConfigState.Write(writer, config);

        // Version 2 only appended the vsock presence byte (false here).
        byte[] version1 = writer.ToArray()[..^1];
        var reader = new StateReader(version1, "test");
        var read = MachineConfigState.Read(reader, version: 1);

        Assert.Null(read.Vsock);
        Assert.True(reader.AtEnd);
    }

    [Fact]
    public void A_restore_on_a_cpu_without_the_snapshots_features_names_them()
    {
        var taken = new CpuIdentity("GenuineIntel", 0x906EA, [0, 0, 1u << 5, 0, 0, 0, 0]);
        var host = new CpuIdentity("GenuineIntel", 0x906EA, [0, 0, 0, 0, 0, 0, 0]);

        Assert.Contains("avx2", taken.WhatIsMissingOn(host));
        Assert.Null(host.WhatIsMissingOn(taken));
        Assert.Contains("AuthenticAMD", taken.WhatIsMissingOn(host with { Vendor = "AuthenticAMD" }));
        Assert.Null(CpuIdentity.Software.WhatIsMissingOn(host));
    }

    [Fact]
    public void This_hosts_cpu_can_restore_its_own_snapshots()
    {
        var host = CpuIdentity.Host();

        Assert.Null(host.WhatIsMissingOn(CpuIdentity.Host()));
    }
}
