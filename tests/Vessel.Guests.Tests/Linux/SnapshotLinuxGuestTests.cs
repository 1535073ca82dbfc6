using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Vessel.Devices.Storage;
using Vessel.Vmm.Configuration;
using Vessel.Vmm.Snapshots;

namespace Vessel.Guests.Tests.Linux;

/// <summary>
/// The Debian guest with 2 vCPUs and a data disk, counting in a shell loop that writes every count to the disk (with
/// fsync) and to a tmpfs file, snapshotted in the middle of that loop and restored after its machine is gone: it goes on
/// from the next count without rebooting, and the disk holds every count in order.
/// </summary>
public sealed class SnapshotLinuxGuestTests : IDisposable
{
    private const ulong MemoryBytes = 256UL << 20;
    private const int EntryLength = 9;

    private readonly DirectoryInfo work = Directory.CreateTempSubdirectory("vessel-snapshot-linux.");

    public void Dispose() => work.Delete(recursive: true);

    [Theory]
    [LinuxGuest(GuestAccelerators.Software, 2)]
    public void A_restored_guest_goes_on_counting_and_writing_its_disk_without_rebooting(string accelerator, int vcpus)
    {
        string diskPath = Path.Combine(work.FullName, "data.raw");
        using (var disk = File.Create(diskPath))
        {
            disk.SetLength(4 << 20);
        }

        string state = Path.Combine(work.FullName, "vm.snap");
        string memory = Path.Combine(work.FullName, "vm.mem");
        DiskConfig[] disks = [new() { Id = "data", Path = diskPath, Format = DiskImageFormat.Raw }];
        int beforeSnapshot;
        using (var guest = LinuxGuest.Boot(accelerator, vcpus, MemoryBytes, disks, null))
        {
            // The count is renamed into place, so a read (or the snapshot) never sees the file between truncation and write.
            guest.Run("{ (i=0; while :; do i=$((i+1)); printf '%08d\\n' $i | dd of=/dev/vda bs=9 seek=$i conv=notrunc,fsync 2>/dev/null; echo $i > /tmp/count.new; mv /tmp/count.new /tmp/count; done) >/dev/null 2>&1 & }");
            beforeSnapshot = WaitForCount(guest, 20);
            guest.Snapshot(SnapshotType.Full, state, memory);
        }

        int onDiskAtSnapshot = ContiguousCounts(diskPath);
        Assert.True(onDiskAtSnapshot >= beforeSnapshot - 1, $"the disk holds {onDiskAtSnapshot} counts where the guest had reached {beforeSnapshot}");

        using (var restored = LinuxGuest.Restore(accelerator, state, memory))
        {
            int resumedAt = int.Parse(restored.Run("cat /tmp/count"), CultureInfo.InvariantCulture);
            Assert.InRange(resumedAt, onDiskAtSnapshot, onDiskAtSnapshot + 1000);
            WaitForCount(restored, resumedAt + 20);
            Assert.DoesNotContain("Linux version", restored.Console);
        }

        int finalCount = ContiguousCounts(diskPath);
        Assert.True(finalCount >= onDiskAtSnapshot + 20, $"the disk holds counts 1 to {finalCount} in order after the restore, from {onDiskAtSnapshot} at the snapshot");
    }

    [Theory]
    [UserNetworkGuest(GuestAccelerators.Software)]
    public void A_restored_guest_on_user_networking_downloads_again_through_a_new_passt(string accelerator)
    {
        byte[] blob = RandomNumberGenerator.GetBytes(256 << 10);
        string expected = $"{Convert.ToHexStringLower(SHA256.HashData(blob))}  /tmp/blob";
        using var server = new NetworkGuestTests.OneFileHttpServer(blob);
        string download = $"rm -f /tmp/blob; wget -q -O /tmp/blob http://10.0.2.2:{server.Port}/blob && sha256sum /tmp/blob";
        string state = Path.Combine(work.FullName, "net.snap");
        string memory = Path.Combine(work.FullName, "net.mem");
        using (var guest = LinuxGuest.Boot(accelerator, 1, MemoryBytes, [NetworkInterfaceConfig.Parse("user", 0)]))
        {
            guest.Run("cd /lib/modules/$(uname -r) && for m in $(cat modules.load); do insmod ./$m 2>/dev/null; done; cd /");
            guest.Run($"printf '{NetworkGuestTests.DhcpScript}' > /tmp/dhcp.sh && chmod +x /tmp/dhcp.sh && ip link set eth0 up");
            guest.Run("udhcpc -i eth0 -s /tmp/dhcp.sh -O mtu -q -n -t 10 -T 3 2>&1");
            Assert.Equal(expected, guest.Run(download));
            guest.Snapshot(SnapshotType.Full, state, memory);
        }

        using var restored = LinuxGuest.Restore(accelerator, state, memory);
        Assert.Contains("inet 10.0.2.15/24", restored.Run("ip -4 addr show eth0"));
        Assert.Equal(expected, restored.Run(download));
    }

    private static int WaitForCount(LinuxGuest guest, int atLeast)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(5);
        while (true)
        {
            string text = guest.Run("cat /tmp/count 2>/dev/null || echo 0");
            int count = int.Parse(text, CultureInfo.InvariantCulture);
            if (count >= atLeast)
            {
                return count;
            }

            Assert.True(DateTime.UtcNow < deadline, $"the guest counted to {count}, not {atLeast}, within 5 minutes");
        }
    }

    /// <summary>How many counts from 1 on the disk holds in order (the loop writes count i at offset 9 i).</summary>
    private static int ContiguousCounts(string diskPath)
    {
        byte[] data = File.ReadAllBytes(diskPath);
        int count = 0;
        while ((count + 2) * EntryLength <= data.Length
            && Encoding.ASCII.GetString(data, (count + 1) * EntryLength, EntryLength) == (count + 1).ToString("D8", CultureInfo.InvariantCulture) + "\n")
        {
            count++;
        }

        return count;
    }
}
