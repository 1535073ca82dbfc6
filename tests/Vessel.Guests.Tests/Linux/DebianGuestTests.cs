using System.Security.Cryptography;
using System.Text;
using Vessel.Core.Interrupts;
using Xunit.Abstractions;

namespace Vessel.Guests.Tests.Linux;

/// <summary>
/// Debian's stock cloud kernel with the busybox initramfs from scripts/guest-images.sh: boot to a shell, check what the
/// guest sees, power off through ACPI. Each row is one accelerator and vCPU count, skipped with the reason where unusable.
/// </summary>
public sealed class DebianGuestTests(ITestOutputHelper output)
{
    private const ulong MemoryBytes = 512UL << 20;

    /// <summary>
    /// RAM the kernel keeps for itself and never counts in MemTotal: this kernel's image (about 40 MiB with bss and the
    /// memblock reservations) and its struct page array (1.6% of RAM). MemTotal must lie within this much of the size.
    /// </summary>
    private const ulong KernelReservationAllowance = 64UL << 20;

    private const int GeneratedBytes = 4 << 20;

    [Theory]
    [LinuxGuest(GuestAccelerators.Kvm, 1)]
    [LinuxGuest(GuestAccelerators.Kvm, 2)]
    [LinuxGuest(GuestAccelerators.Software, 1)]
    [LinuxGuest(GuestAccelerators.Software, 2)]
    public void Boots_to_a_shell_that_sees_the_machine_computes_correctly_and_powers_off(string accelerator, int vcpus)
    {
        using var guest = LinuxGuest.Boot(accelerator, vcpus, MemoryBytes);
        output.WriteLine($"{accelerator}, {vcpus} vCPU(s): userspace marker after {guest.TimeToUserspace.TotalSeconds:0.00} s");

        Assert.Equal(vcpus.ToString(System.Globalization.CultureInfo.InvariantCulture), guest.Run("nproc"));

        string memTotal = guest.Run("sed -n 's/^MemTotal: *\\([0-9]*\\) kB/\\1/p' /proc/meminfo");
        ulong memTotalBytes = ulong.Parse(memTotal, System.Globalization.CultureInfo.InvariantCulture) * 1024;
        output.WriteLine($"MemTotal {memTotalBytes >> 20} MiB of {MemoryBytes >> 20} MiB");
        Assert.InRange(memTotalBytes, MemoryBytes - KernelReservationAllowance, MemoryBytes);

        string zeros = guest.Run($"dd if=/dev/zero bs=1M count={GeneratedBytes >> 20} 2>/dev/null | sha256sum");
        Assert.Equal(Sha256(new byte[GeneratedBytes]) + "  -", zeros);

        string text = guest.Run($"yes vessel | head -c {GeneratedBytes} | sha256sum");
        Assert.Equal(Sha256(Repeat("vessel\n"u8, GeneratedBytes)) + "  -", text);

        string interrupts = guest.Run("cat /proc/interrupts");
        output.WriteLine(interrupts);
        Assert.True(InterruptCount(interrupts, "LOC:") > 0, "the local APIC timer never fired");
        Assert.True(InterruptCount(interrupts, "ttyS0") > 0, "the console UART never interrupted");

        var stop = guest.RunUntilStop("poweroff");
        Assert.Equal(MachineStopReason.PowerOff, stop.Reason);
        Assert.Equal(0, stop.ExitStatus);
    }

    [Theory]
    [LinuxGuest(GuestAccelerators.Kvm, 1)]
    [LinuxGuest(GuestAccelerators.Software, 1)]
    public void Reboot_in_the_guest_ends_the_machine_as_a_reset(string accelerator, int vcpus)
    {
        using var guest = LinuxGuest.Boot(accelerator, vcpus, MemoryBytes);

        var stop = guest.RunUntilStop("reboot");

        Assert.Equal(MachineStopReason.Reset, stop.Reason);
        Assert.Equal(0, stop.ExitStatus);
    }

    private static string Sha256(byte[] data) => Convert.ToHexStringLower(SHA256.HashData(data));

    private static byte[] Repeat(ReadOnlySpan<byte> pattern, int length)
    {
        var bytes = new byte[length];
        for (int i = 0; i < length; i++)
        {
            bytes[i] = pattern[i % pattern.Length];
        }

        return bytes;
    }

    /// <summary>Sums the per-CPU counts of the /proc/interrupts row whose line contains <paramref name="key"/>.</summary>
    private static long InterruptCount(string interrupts, string key)
    {
        foreach (string line in interrupts.Split('\n'))
        {
            if (!line.Contains(key, StringComparison.Ordinal))
            {
                continue;
            }

            long sum = 0;
            foreach (string field in line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                if (!long.TryParse(field, out long count))
                {
                    break;
                }

                sum += count;
            }

            return sum;
        }

        return 0;
    }
}
