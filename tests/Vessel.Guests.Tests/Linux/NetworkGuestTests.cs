using System.Net;
using System.Net.Sockets;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using Vessel.Devices.Networking;
using Vessel.Vmm.Configuration;
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

    private static int FreeLoopbackPort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
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

    public UserNetworkGuestAttribute(string accelerator)
    {
        this.accelerator = accelerator;
        Skip = GuestAccelerators.SkipReason(accelerator)
            ?? (Passt.FindExecutable() == null ? "User networking needs passt, which is not installed (apt-get install passt; scripts/test.sh installs it)." : null)!;
    }

    public override IEnumerable<object[]> GetData(MethodInfo testMethod) => [[accelerator]];
}
