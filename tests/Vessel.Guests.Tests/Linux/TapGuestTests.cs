using System.Diagnostics;
using System.Reflection;
using System.Security.Cryptography;
using Vessel.Vmm.Configuration;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace Vessel.Guests.Tests.Linux;

/// <summary>
/// The Debian guest on a TAP device inside a network namespace the test creates, never on the host's own network: Vessel
/// creates the TAP device, the test moves it into the namespace (its descriptor keeps working) and gives it 10.0.3.1; the
/// guest takes 10.0.3.2, downloads a file from a server in the namespace, and serves a page the namespace fetches.
/// </summary>
public sealed class TapGuestTests(ITestOutputHelper output)
{
    private const ulong MemoryBytes = 256UL << 20;
    private const int DownloadBytes = 1 << 20;
    private const int ServerPort = 8000;

    [Theory]
    [TapGuest(GuestAccelerators.Kvm)]
    [TapGuest(GuestAccelerators.Software)]
    public void A_guest_on_a_tap_device_in_a_namespace_downloads_from_it_and_serves_it(string accelerator) => DownloadAndServe(accelerator, vhost: false);

    /// <summary>The same over vhost-net: the kernel moves the frames between the TAP device and the guest's rings.</summary>
    [Theory]
    [TapGuest(GuestAccelerators.Kvm, vhost: true)]
    public void A_guest_on_vhost_net_downloads_from_the_namespace_and_serves_it(string accelerator) => DownloadAndServe(accelerator, vhost: true);

    private void DownloadAndServe(string accelerator, bool vhost)
    {
        string suffix = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3));
        string device = $"vtap{suffix}";
        string space = $"vessel-test-{suffix}";
        var folder = Directory.CreateTempSubdirectory("vessel-tap-test-");
        byte[] blob = RandomNumberGenerator.GetBytes(DownloadBytes);
        File.WriteAllBytes(Path.Combine(folder.FullName, "blob"), blob);
        Process? server = null;
        try
        {
            Ip($"netns add {space}");
            var network = NetworkInterfaceConfig.Parse($"tap={device}{(vhost ? ",vhost=on" : string.Empty)}", 0);
            using var guest = LinuxGuest.Boot(accelerator, 1, MemoryBytes, [network]);

            Ip($"link set {device} netns {space}");
            Ip($"-n {space} link set lo up");
            Ip($"-n {space} addr add 10.0.3.1/24 dev {device}");
            Ip($"-n {space} link set {device} up");
            server = Process.Start(new ProcessStartInfo("ip", $"netns exec {space} python3 -m http.server {ServerPort} --bind 10.0.3.1 --directory {folder.FullName}")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            })!;

            guest.Run("cd /lib/modules/$(uname -r) && for m in $(cat modules.load); do insmod ./$m 2>/dev/null; done; cd /");
            guest.Run("ip link set eth0 up && ip addr add 10.0.3.2/24 dev eth0");
            output.WriteLine(guest.Run("ip -4 addr show eth0"));

            // The server in the namespace may still be starting; wget retries a refused connection once a second, its
            // complaints about the refused tries kept out of the output the checksum is compared with.
            string sum = guest.Run($"for i in $(seq 30); do wget -q -O /tmp/blob http://10.0.3.1:{ServerPort}/blob 2>/dev/null && break; sleep 1; done; sha256sum /tmp/blob");
            Assert.Equal($"{Convert.ToHexStringLower(SHA256.HashData(blob))}  /tmp/blob", sum);

            string page = $"served over TAP {suffix}";
            guest.Run($"mkdir -p /www && echo '{page}' > /www/index.html && httpd -p 8080 -h /www");
            Assert.Equal(page, Run("ip", $"netns exec {space} curl -sS -m 60 --retry 10 --retry-connrefused http://10.0.3.2:8080/index.html").Trim());
        }
        finally
        {
            if (server != null && !server.HasExited)
            {
                server.Kill(entireProcessTree: true);
                server.WaitForExit(10000);
            }

            server?.Dispose();
            Run("ip", $"netns del {space}", check: false);
            folder.Delete(recursive: true);
        }
    }

    private static void Ip(string arguments) => Run("ip", arguments);

    private static string Run(string program, string arguments, bool check = true)
    {
        using var process = Process.Start(new ProcessStartInfo(program, arguments) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (check && process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} {arguments} exited with {process.ExitCode}: {stderr.Result}");
        }

        return stdout;
    }
}

/// <summary>
/// A Linux guest row that also needs root, /dev/net/tun and iproute2 (for the namespace), and with vhost /dev/vhost-net;
/// skipped, with the reason, otherwise.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = true)]
public sealed class TapGuestAttribute : DataAttribute
{
    private readonly string accelerator;

    public TapGuestAttribute(string accelerator, bool vhost = false)
    {
        this.accelerator = accelerator;
        Skip = GuestAccelerators.SkipReason(accelerator) ?? HostReason() ?? (vhost && !File.Exists("/dev/vhost-net")
            ? "vhost=on needs /dev/vhost-net, which this host lacks (modprobe vhost_net)."
            : null)!;
    }

    public override IEnumerable<object[]> GetData(MethodInfo testMethod) => [[accelerator]];

    private static string? HostReason()
    {
        if (!Environment.IsPrivilegedProcess)
        {
            return "TAP needs root (to create the TAP device and the network namespace the test runs it in).";
        }

        if (!File.Exists("/dev/net/tun"))
        {
            return "TAP needs /dev/net/tun (modprobe tun).";
        }

        string[] tools = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"];
        if (!tools.Any(File.Exists))
        {
            return "The TAP test needs iproute2's ip (apt-get install iproute2) to make its network namespace.";
        }

        return null;
    }
}
