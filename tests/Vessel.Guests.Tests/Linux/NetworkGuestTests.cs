using System.Net;
using System.Net.Sockets;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using Vessel.Devices.Networking;
using Vessel.Vmm.Configuration;
using Vessel.Vmm.Images;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace Vessel.Guests.Tests.Linux;

/// <summary>
/// The Debian guest on a virtio-net interface with user networking (passt): it loads virtio_net, takes an address by DHCP,
/// downloads a file from a server on the host's loopback through the gateway, and serves a page the host fetches through a
/// hostfwd port. All traffic stays on this machine's loopback.
/// </summary>
public sealed class NetworkGuestTests(ITestOutputHelper output)
{
    private const ulong MemoryBytes = 256UL << 20;
    private const int DownloadBytes = 1 << 20;

    /// <summary>What the initramfs lacks: a udhcpc script that applies the lease (MTU, address, default route, DNS server).</summary>
    internal const string DhcpScript =
        "#!/bin/sh\\ncase $1 in bound|renew) [ -n \"$mtu\" ] && ip link set $interface mtu $mtu; ip addr flush dev $interface; "
        + "ip addr add $ip/$mask dev $interface; ip route add default via $router; echo nameserver $dns > /etc/resolv.conf;; esac\\n";

    [Theory]
    [UserNetworkGuest(GuestAccelerators.Kvm)]
    [UserNetworkGuest(GuestAccelerators.Software)]
    public void User_networking_leases_qemus_address_reaches_the_host_loopback_and_forwards_a_host_port(string accelerator)
    {
        byte[] blob = RandomNumberGenerator.GetBytes(DownloadBytes);
        using var server = new OneFileHttpServer(blob);
        int forwardedPort = FreeLoopbackPort();
        var network = NetworkInterfaceConfig.Parse($"user,hostfwd=tcp:127.0.0.1:{forwardedPort}-:8080", 0);
        using var guest = LinuxGuest.Boot(accelerator, 1, MemoryBytes, [network]);

        guest.Run("cd /lib/modules/$(uname -r) && for m in $(cat modules.load); do insmod ./$m 2>/dev/null; done; cd /");
        guest.Run($"printf '{DhcpScript}' > /tmp/dhcp.sh && chmod +x /tmp/dhcp.sh && ip link set eth0 up");
        output.WriteLine(guest.Run("udhcpc -i eth0 -s /tmp/dhcp.sh -O mtu -q -n -t 10 -T 3 2>&1"));

        string address = guest.Run("ip -4 addr show eth0");
        Assert.Contains("inet 10.0.2.15/24", address);
        Assert.Contains($"mtu {Passt.Mtu}", address);
        Assert.Contains("default via 10.0.2.2", guest.Run("ip route"));
        Assert.Equal("nameserver 10.0.2.3", guest.Run("cat /etc/resolv.conf"));

        string sum = guest.Run($"wget -q -O /tmp/blob http://10.0.2.2:{server.Port}/blob && sha256sum /tmp/blob");
        Assert.Equal($"{Convert.ToHexStringLower(SHA256.HashData(blob))}  /tmp/blob", sum);

        string page = $"served by the guest {Guid.NewGuid():N}";
        guest.Run($"mkdir -p /www && echo '{page}' > /www/index.html && httpd -p 8080 -h /www");
        Assert.Equal(page + "\n", FetchWithRetries($"http://127.0.0.1:{forwardedPort}/index.html"));
    }

    [Theory]
    [UserNetworkGuest(GuestAccelerators.Kvm, imageRevision: 3)]
    [UserNetworkGuest(GuestAccelerators.Software, imageRevision: 3)]
    public void A_demo_style_guest_takes_its_address_by_dhcp_at_boot_and_wget_reaches_the_host_loopback(string accelerator)
    {
        var images = GuestImages.TryLoad(out string reason) ?? throw new InvalidOperationException(reason);
        byte[] blob = RandomNumberGenerator.GetBytes(DownloadBytes);
        using var server = new OneFileHttpServer(blob);
        var folder = Directory.CreateTempSubdirectory("demo-net-");
        try
        {
            // What vessel demo boots: its own overlay of the root file system, user networking, and ip=dhcp.
            var disk = DemoDisk.Prepare(images, folder.FullName, fresh: true, output.WriteLine);
            using var guest = LinuxGuest.Boot(
                accelerator, 1, MemoryBytes, [disk], $"{GuestImages.RootOnFirstDisk} {GuestImages.DhcpOnFirstInterface}", [new NetworkInterfaceConfig { Id = "net0", Backend = NetworkBackendKind.User }]);

            Assert.Contains($"{GuestImages.DhcpMarker}10.0.2.15/24 by DHCP, gateway 10.0.2.2", guest.Console);
            Assert.EndsWith("root /dev/vda)", guest.UserspaceLine);
            Assert.Contains($"mtu {Passt.Mtu}", guest.Run("ip link show eth0"));
            Assert.Equal("nameserver 10.0.2.3", guest.Run("cat /etc/resolv.conf"));
            string sum = guest.Run($"wget -q -O /tmp/blob http://10.0.2.2:{server.Port}/blob && sha256sum /tmp/blob");
            Assert.Equal($"{Convert.ToHexStringLower(SHA256.HashData(blob))}  /tmp/blob", sum);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    /// <summary>busybox's nc has no UDP: <c>udp-echo PORT COUNT</c> answers COUNT datagrams with their own bytes and prints each.</summary>
    private const string UdpEchoProgram = """
        #include <arpa/inet.h>
        #include <netinet/in.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <sys/socket.h>

        int main(int argc, char **argv) {
            if (argc < 3) { fprintf(stderr, "usage: udp-echo PORT COUNT\n"); return 2; }
            int fd = socket(AF_INET, SOCK_DGRAM, 0);
            struct sockaddr_in address = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[1])), .sin_addr.s_addr = htonl(INADDR_ANY) };
            if (fd < 0 || bind(fd, (struct sockaddr *)&address, sizeof address) < 0) { perror("bind"); return 1; }
            printf("listening\n");
            fflush(stdout);
            for (int count = atoi(argv[2]); count > 0; count--) {
                char buffer[2048];
                struct sockaddr_in from;
                socklen_t length = sizeof from;
                ssize_t size = recvfrom(fd, buffer, sizeof buffer, 0, (struct sockaddr *)&from, &length);
                if (size < 0) { perror("recvfrom"); return 1; }
                sendto(fd, buffer, size, 0, (struct sockaddr *)&from, length);
                printf("%.*s from %s\n", (int)size, buffer, inet_ntoa(from.sin_addr));
                fflush(stdout);
            }
            return 0;
        }
        """;

    [Theory]
    [UserNetworkGuest(GuestAccelerators.Kvm, imageRevision: 3, needsCompiler: true)]
    [UserNetworkGuest(GuestAccelerators.Software, imageRevision: 3, needsCompiler: true)]
    public void A_udp_hostfwd_delivers_a_host_datagram_to_the_guest_and_carries_its_answer_back(string accelerator)
    {
        var images = GuestImages.TryLoad(out string reason) ?? throw new InvalidOperationException(reason);
        var folder = Directory.CreateTempSubdirectory("udp-fwd-");
        try
        {
            string initramfs = StaticGuestProgram.BuildInitramfs(images.InitramfsPath, "udp-echo", UdpEchoProgram, folder.FullName);
            int hostPort = FreeLoopbackPort(SocketType.Dgram, ProtocolType.Udp);
            var network = NetworkInterfaceConfig.Parse($"user,hostfwd=udp:127.0.0.1:{hostPort}-:5353", 0);
            using var guest = LinuxGuest.Boot(accelerator, 1, MemoryBytes, initramfs, null, [network], GuestImages.DhcpOnFirstInterface);
            Assert.Contains($"{GuestImages.DhcpMarker}10.0.2.15/24", guest.Console);

            guest.Run("udp-echo 5353 100 > /tmp/udp.log 2>&1 & true");
            Assert.Equal("listening", guest.Run("until grep -q listening /tmp/udp.log; do usleep 100000; done; head -n1 /tmp/udp.log"));

            using var client = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
            client.Client.ReceiveTimeout = 2000;
            byte[] datagram = Encoding.ASCII.GetBytes($"datagram-{Guid.NewGuid():N}");
            byte[]? answer = null;
            for (int attempt = 0; attempt < 60 && answer == null; attempt++)
            {
                // UDP may be lost while passt sets up the flow: send again until the answer comes.
                client.Send(datagram, datagram.Length, new IPEndPoint(IPAddress.Loopback, hostPort));
                try
                {
                    var from = new IPEndPoint(IPAddress.Any, 0);
                    answer = client.Receive(ref from);
                    Assert.Equal(hostPort, from.Port);
                }
                catch (SocketException exception) when (exception.SocketErrorCode == SocketError.TimedOut)
                {
                }
            }

            Assert.Equal(datagram, answer);
            Assert.Contains(Encoding.ASCII.GetString(datagram), guest.Run("cat /tmp/udp.log"));
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    private static string FetchWithRetries(string url)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(3);
        while (true)
        {
            try
            {
                return client.GetStringAsync(url).GetAwaiter().GetResult();
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline)
            {
                // passt accepts on the forwarded port at once and resets if the guest's server is not up yet.
                Thread.Sleep(500);
            }
        }
    }

    private static int FreeLoopbackPort(SocketType type = SocketType.Stream, ProtocolType protocol = ProtocolType.Tcp)
    {
        using var probe = new Socket(AddressFamily.InterNetwork, type, protocol);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }

    /// <summary>An HTTP/1.0 server on 127.0.0.1 that answers every request with one body.</summary>
    internal sealed class OneFileHttpServer : IDisposable
    {
        private readonly TcpListener listener = new(IPAddress.Loopback, 0);
        private readonly byte[] body;
        private readonly Thread thread;

        public OneFileHttpServer(byte[] body)
        {
            this.body = body;
            listener.Start();
            Port = ((IPEndPoint)listener.LocalEndpoint).Port;
            thread = new Thread(Serve) { IsBackground = true, Name = "test-http" };
            thread.Start();
        }

        public int Port { get; }

        public void Dispose()
        {
            listener.Stop();
            thread.Join(TimeSpan.FromSeconds(10));
        }

        private void Serve()
        {
            while (true)
            {
                Socket connection;
                try
                {
                    connection = listener.AcceptSocket();
                }
                catch (Exception exception) when (exception is SocketException or ObjectDisposedException or InvalidOperationException)
                {
                    return;
                }

                using (connection)
                {
                    try
                    {
                        var request = new byte[4096];
                        int seen = 0;
                        while (seen < request.Length && !Encoding.ASCII.GetString(request, 0, seen).Contains("\r\n\r\n", StringComparison.Ordinal))
                        {
                            int count = connection.Receive(request.AsSpan(seen));
                            if (count == 0)
                            {
                                break;
                            }

                            seen += count;
                        }

                        connection.Send(Encoding.ASCII.GetBytes($"HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {body.Length}\r\n\r\n"));
                        connection.Send(body);
                        connection.Shutdown(SocketShutdown.Send);
                    }
                    catch (SocketException)
                    {
                    }
                }
            }
        }
    }
}

/// <summary>A Linux guest row that also needs passt; skipped, with the reason, where either is missing.</summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = true)]
public sealed class UserNetworkGuestAttribute : DataAttribute
{
    private readonly string accelerator;

    /// <param name="imageRevision">The guest-images.sh revision the test needs (3: DHCP at boot).</param>
    /// <param name="needsCompiler">The test builds a guest program with gcc (<see cref="StaticGuestProgram"/>).</param>
    public UserNetworkGuestAttribute(string accelerator, int imageRevision = 0, bool needsCompiler = false)
    {
        this.accelerator = accelerator;
        Skip = GuestAccelerators.SkipReason(accelerator)
            ?? (Passt.FindExecutable() == null ? "User networking needs passt, which is not installed (apt-get install passt; scripts/test.sh installs it)." : null)
            ?? GuestAccelerators.ImageRevisionMissing(imageRevision)
            ?? (needsCompiler ? StaticGuestProgram.SkipReason() : null)!;
    }

    public override IEnumerable<object[]> GetData(MethodInfo testMethod) => [[accelerator]];
}
