using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Vessel.Core.Interrupts;
using Vessel.Devices.Storage;
using Vessel.Vmm.Configuration;
using Vessel.Vmm.Images;
using Xunit.Abstractions;

namespace Vessel.Guests.Tests.Linux;

/// <summary>
/// Debian's kernel with virtio disks end to end: what the guest sees of each disk, data crossing between the host's image
/// files and the guest, read-only disks, the virtio PCI functions, the entropy device and the virtio console, and a root
/// file system on a disk that keeps what the guest wrote. scripts/qemu-disk-check.py checks the same under QEMU.
/// </summary>
public sealed class DiskGuestTests(ITestOutputHelper output) : IDisposable
{
    private const ulong MemoryBytes = 512UL << 20;
    private const int Sector = 512;

    /// <summary>virtio 1.2 §4.1.2.1: a modern PCI function's device ID is 0x1040 plus the virtio device ID (2 block, 3 console, 4 entropy).</summary>
    private const string VirtioBlockFunction = "0x1af4:0x1042";
    private const string VirtioConsoleFunction = "0x1af4:0x1043";
    private const string VirtioEntropyFunction = "0x1af4:0x1044";

    private readonly DirectoryInfo work = Directory.CreateTempSubdirectory("vessel-disk-tests.");

    public void Dispose() => work.Delete(recursive: true);

    [Theory]
    [DiskGuest(GuestAccelerators.Kvm, 1)]
    [DiskGuest(GuestAccelerators.Software, 1)]
    public void The_guest_sees_each_disk_at_its_size_reads_what_the_host_wrote_and_writes_where_the_host_finds_it(string accelerator, int vcpus)
    {
        byte[] known = SectorPattern(8 << 20, "known");
        string knownPath = WriteImage("known.raw", known);
        const long ScratchSize = (5L << 20) + (3 * Sector);
        string scratchPath = Path.Combine(work.FullName, "scratch.raw");
        using (var scratch = File.Create(scratchPath))
        {
            scratch.SetLength(ScratchSize);
        }

        DiskConfig[] disks =
        [
            new() { Id = "known", Path = knownPath, Format = DiskImageFormat.Raw },
            new() { Id = "scratch", Path = scratchPath, Format = DiskImageFormat.Raw },
        ];
        const long WriteOffset = 300 * 4096;
        const int WriteLength = 64 << 10;
        const long LastSector = (ScratchSize / Sector) - 1;
        using (var guest = LinuxGuest.Boot(accelerator, vcpus, MemoryBytes, disks, null))
        {
            Assert.Equal(2, VirtioFunctions(guest).Count(line => line == $"{VirtioBlockFunction} virtio-pci"));
            Assert.Equal((known.Length / Sector).ToString(CultureInfo.InvariantCulture), guest.Run("cat /sys/block/vda/size"));
            Assert.Equal((ScratchSize / Sector).ToString(CultureInfo.InvariantCulture), guest.Run("cat /sys/block/vdb/size"));
            Assert.Equal("known", guest.Run("cat /sys/block/vda/serial"));

            Assert.Equal(Sha256(known) + "  -", guest.Run("dd if=/dev/vda bs=64k 2>/dev/null | sha256sum"));

            guest.Run($"yes guest-wrote-this | head -c {WriteLength} | dd of=/dev/vdb bs=4096 seek={WriteOffset / 4096} conv=fsync 2>/dev/null");
            guest.Run($"printf last-sector | dd of=/dev/vdb bs={Sector} seek={LastSector} conv=notrunc,fsync 2>/dev/null");

            var stop = guest.RunUntilStop("poweroff");
            Assert.Equal(MachineStopReason.PowerOff, stop.Reason);
        }

        byte[] scratchBytes = File.ReadAllBytes(scratchPath);
        Assert.Equal(ScratchSize, scratchBytes.LongLength);
        Assert.Equal(Repeat("guest-wrote-this\n"u8, WriteLength), scratchBytes.AsSpan((int)WriteOffset, WriteLength).ToArray());
        Assert.Equal("last-sector"u8.ToArray(), scratchBytes.AsSpan((int)(LastSector * Sector), "last-sector".Length).ToArray());
        Assert.False(scratchBytes.AsSpan(0, (int)WriteOffset).ContainsAnyExcept((byte)0), "the guest's write landed before its offset");
        Assert.Equal(Sha256(known), Sha256(File.ReadAllBytes(knownPath)));
    }

    [Theory]
    [DiskGuest(GuestAccelerators.Kvm, 1)]
    [DiskGuest(GuestAccelerators.Software, 1)]
    public void A_read_only_disk_refuses_the_guests_writes_and_its_image_is_unchanged(string accelerator, int vcpus)
    {
        byte[] content = SectorPattern(1 << 20, "read-only");
        string path = WriteImage("readonly.raw", content);
        DiskConfig[] disks = [new() { Id = "readonly", Path = path, ReadOnly = true, Format = DiskImageFormat.Raw }];
        using (var guest = LinuxGuest.Boot(accelerator, vcpus, MemoryBytes, disks, null))
        {
            Assert.Equal("1", guest.Run("cat /sys/block/vda/ro"));
            Assert.Equal("refused", guest.Run("dd if=/dev/zero of=/dev/vda bs=4096 count=1 conv=fsync 2>/dev/null && echo wrote || echo refused"));
            Assert.Equal(Sha256(content) + "  -", guest.Run("dd if=/dev/vda bs=64k 2>/dev/null | sha256sum"));

            Assert.Equal(MachineStopReason.PowerOff, guest.RunUntilStop("poweroff").Reason);
        }

        Assert.Equal(Sha256(content), Sha256(File.ReadAllBytes(path)));
    }

    /// <summary>
    /// 1 MiB O_DIRECT requests: with seg_max at the queue size less two, Linux builds indirect tables of up to 256 entries
    /// (header, 254 pages, status), which virtio 1.2 §2.7.5.3.1 allows for a queue of 256.
    /// </summary>
    [Theory]
    [DiskGuest(GuestAccelerators.Kvm, 1)]
    [DiskGuest(GuestAccelerators.Software, 1)]
    public void Large_direct_writes_and_reads_complete_and_land_in_the_image(string accelerator, int vcpus)
    {
        // The data comes from a second disk, so the guest's CPU only moves it (generating it in the guest is slow on the software CPU).
        byte[] source = SectorPattern(8 << 20, "large");
        string sourcePath = WriteImage("source.raw", source);
        string path = Path.Combine(work.FullName, "large.raw");
        using (var disk = File.Create(path))
        {
            disk.SetLength(source.Length);
        }

        DiskConfig[] disks =
        [
            new() { Id = "large", Path = path, Format = DiskImageFormat.Raw },
            new() { Id = "source", Path = sourcePath, ReadOnly = true, Format = DiskImageFormat.Raw },
        ];
        using (var guest = LinuxGuest.Boot(accelerator, vcpus, MemoryBytes, disks, null))
        {
            guest.Run("dd if=/dev/vdb of=/dev/vda bs=1M iflag=direct oflag=direct conv=fsync 2>/dev/null");
            Assert.Equal(Sha256(source) + "  -", guest.Run("dd if=/dev/vda bs=1M iflag=direct 2>/dev/null | sha256sum"));
            Assert.Equal(MachineStopReason.PowerOff, guest.RunUntilStop("poweroff").Reason);
        }

        Assert.Equal(Sha256(source), Sha256(File.ReadAllBytes(path)));
    }

    [Theory]
    [DiskGuest(GuestAccelerators.Kvm, 1, needsQemuImg: true)]
    [DiskGuest(GuestAccelerators.Software, 1, needsQemuImg: true)]
    public void Guest_writes_across_qcow2_cluster_boundaries_reach_an_image_that_qemu_img_checks_and_reads(string accelerator, int vcpus)
    {
        const int Size = 8 << 20;
        string path = Path.Combine(work.FullName, "disk.qcow2");
        var created = QemuImg.Run("create", "-q", "-f", "qcow2", path, Size.ToString(CultureInfo.InvariantCulture));
        Assert.True(created.ExitCode == 0, created.Output);

        // 200 KiB from 60 KiB: the tail of cluster 0, all of clusters 1 and 2, the head of cluster 3 (64 KiB clusters).
        const int WriteOffset = 60 << 10;
        const int WriteLength = 200 << 10;
        DiskConfig[] disks = [new() { Id = "qcow2", Path = path, Format = DiskImageFormat.Qcow2 }];
        using (var guest = LinuxGuest.Boot(accelerator, vcpus, MemoryBytes, disks, null))
        {
            Assert.Equal((Size / Sector).ToString(CultureInfo.InvariantCulture), guest.Run("cat /sys/block/vda/size"));
            guest.Run($"yes qcow2-crossing | head -c {WriteLength} | dd of=/dev/vda bs=4096 seek={WriteOffset / 4096} conv=fsync 2>/dev/null");
            Assert.Equal(MachineStopReason.PowerOff, guest.RunUntilStop("poweroff").Reason);
        }

        var check = QemuImg.Run("check", path);
        output.WriteLine(check.Output);
        Assert.True(check.ExitCode == 0, $"qemu-img check: {check.Output}");

        string flat = Path.Combine(work.FullName, "flat.raw");
        var converted = QemuImg.Run("convert", "-f", "qcow2", "-O", "raw", path, flat);
        Assert.True(converted.ExitCode == 0, converted.Output);
        byte[] expected = new byte[Size];
        Repeat("qcow2-crossing\n"u8, WriteLength).CopyTo(expected, WriteOffset);
        Assert.Equal(Sha256(expected), Sha256(File.ReadAllBytes(flat)));
    }

    [Theory]
    [LinuxGuest(GuestAccelerators.Kvm, 1)]
    [LinuxGuest(GuestAccelerators.Software, 1)]
    public void The_guest_finds_the_entropy_device_and_the_virtio_console_on_pci_and_reads_random_bytes(string accelerator, int vcpus)
    {
        using var guest = LinuxGuest.Boot(accelerator, vcpus, MemoryBytes);

        string[] functions = VirtioFunctions(guest);
        Assert.Single(functions, line => line == $"{VirtioEntropyFunction} virtio-pci");
        Assert.Single(functions, line => line == $"{VirtioConsoleFunction} virtio-pci");
        Assert.DoesNotContain(functions, line => line.StartsWith(VirtioBlockFunction, StringComparison.Ordinal));

        Assert.StartsWith("virtio_rng", guest.Run("cat /sys/class/misc/hw_random/rng_current"), StringComparison.Ordinal);
        string random = guest.Run("head -c 32 /dev/hwrng | od -An -tx1 | tr -d ' \\n'");
        Assert.Matches("^[0-9a-f]{64}$", random);
        Assert.NotEqual(new string('0', 64), random);

        Assert.Equal("yes", guest.Run("test -c /dev/hvc0 && echo yes"));

        Assert.Equal(MachineStopReason.PowerOff, guest.RunUntilStop("poweroff").Reason);
    }

    [Theory]
    [DiskGuest(GuestAccelerators.Kvm, 1)]
    [DiskGuest(GuestAccelerators.Software, 1)]
    public void A_root_file_system_on_the_demos_disk_keeps_what_the_guest_wrote_across_a_reboot(string accelerator, int vcpus)
    {
        var images = GuestImages.TryLoad(out string reason) ?? throw new InvalidOperationException(reason);
        string baseHash = Sha256File(images.RootfsPath);
        DiskConfig[] disks = [DemoDisk.Prepare(images, work.FullName, fresh: false, output.WriteLine)];

        using (var guest = LinuxGuest.Boot(accelerator, vcpus, MemoryBytes, disks, GuestImages.RootOnFirstDisk))
        {
            Assert.EndsWith("root /dev/vda)", guest.UserspaceLine, StringComparison.Ordinal);
            Assert.Equal("/dev/vda ext4 rw", guest.Run("awk '$2 == \"/\" { print $1, $3, substr($4, 1, 2) }' /proc/mounts | tail -n1"));
            guest.Run("echo kept-across-reboot > /root/kept.txt && sync");
            Assert.Equal(MachineStopReason.Reset, guest.RunUntilStop("reboot").Reason);
        }

        using (var guest = LinuxGuest.Boot(accelerator, vcpus, MemoryBytes, disks, GuestImages.RootOnFirstDisk))
        {
            Assert.Equal("kept-across-reboot", guest.Run("cat /root/kept.txt"));
            Assert.Equal(MachineStopReason.PowerOff, guest.RunUntilStop("poweroff").Reason);
        }

        Assert.Equal(baseHash, Sha256File(images.RootfsPath));
    }

    [Theory]
    [LinuxGuest(GuestAccelerators.Kvm, 1)]
    [LinuxGuest(GuestAccelerators.Software, 1)]
    public void Without_its_root_disk_the_guest_says_so_and_stays_in_the_initramfs_shell(string accelerator, int vcpus)
    {
        using var guest = LinuxGuest.Boot(accelerator, vcpus, MemoryBytes, [], $"{GuestImages.RootOnFirstDisk} rootdelay=1");

        Assert.Contains("vessel-guest: root device /dev/vda did not appear within 1 s; staying in the initramfs", guest.Console, StringComparison.Ordinal);
        Assert.Equal("rootfs rootfs", guest.Run("awk '$2 == \"/\" { print $1, $3 }' /proc/mounts | tail -n1"));
        Assert.Equal(MachineStopReason.PowerOff, guest.RunUntilStop("poweroff").Reason);
    }

    /// <summary>Each PCI function as "vendor:device driver", read from sysfs (busybox has no lspci).</summary>
    private string[] VirtioFunctions(LinuxGuest guest)
    {
        string functions = guest.Run("for d in /sys/bus/pci/devices/*; do echo $(cat $d/vendor):$(cat $d/device) $(readlink $d/driver | sed 's|.*/||'); done");
        output.WriteLine(functions);
        return functions.Split('\n');
    }

    /// <summary>Each 512-byte sector names itself, so a sector read from or written to the wrong place changes the hash.</summary>
    private static byte[] SectorPattern(int length, string label)
    {
        var bytes = new byte[length];
        for (int sector = 0; sector < length / Sector; sector++)
        {
            byte[] line = Encoding.ASCII.GetBytes($"{label} sector {sector:D8}\n");
            for (int i = 0; i < Sector; i++)
            {
                bytes[(sector * Sector) + i] = line[i % line.Length];
            }
        }

        return bytes;
    }

    private string WriteImage(string name, byte[] content)
    {
        string path = Path.Combine(work.FullName, name);
        File.WriteAllBytes(path, content);
        return path;
    }

    private static string Sha256(byte[] data) => Convert.ToHexStringLower(SHA256.HashData(data));

    private static string Sha256File(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    private static byte[] Repeat(ReadOnlySpan<byte> pattern, int length)
    {
        var bytes = new byte[length];
        for (int i = 0; i < length; i++)
        {
            bytes[i] = pattern[i % pattern.Length];
        }

        return bytes;
    }
}
