using System.Globalization;
using Vessel.Devices.Networking;

namespace Vessel.Vmm.Configuration;

/// <summary>
/// One virtio-net interface, shaped like Firecracker's network-interface resource (<c>iface_id</c>, <c>host_dev_name</c>,
/// <c>guest_mac</c>), with Vessel's user-mode networking beside TAP. Interfaces appear to the guest in the order given (eth0, ...).
/// </summary>
public sealed record NetworkInterfaceConfig
{
    public required string Id { get; init; }

    public NetworkBackendKind Backend { get; init; } = NetworkBackendKind.Tap;

    /// <summary>The host's TAP device (Tap only).</summary>
    public string? HostDeviceName { get; init; }

    /// <summary>The guest's MAC address ("06:00:AC:10:00:02"); null lets the device choose a stable one from the id.</summary>
    public string? GuestMac { get; init; }

    /// <summary>Host ports forwarded to the guest (User only).</summary>
    public IReadOnlyList<HostForward> HostForwards { get; init; } = [];

    /// <summary>
    /// vhost=on (TAP only): the host kernel's vhost-net moves the frames between the rings and the TAP device. Parsed and
    /// checked; the machine refuses to start with it (the software accelerator cannot use it, and on KVM it is not wired to
    /// the virtio transport yet).
    /// </summary>
    public bool Vhost { get; init; }

    /// <summary>Firecracker's rx_rate_limiter: validated, not yet enforced.</summary>
    public RateLimiterConfig? ReceiveRateLimiter { get; init; }

    /// <summary>Firecracker's tx_rate_limiter: validated, not yet enforced.</summary>
    public RateLimiterConfig? TransmitRateLimiter { get; init; }

    /// <summary>
    /// Parses the CLI's <c>user[,hostfwd=tcp:HOSTADDR:HOSTPORT-:GUESTPORT]...[,mac=MAC][,id=NAME]</c> or
    /// <c>tap=NAME[,mac=MAC][,id=NAME]</c>. <paramref name="position"/> numbers the interface for its default id (net0, ...).
    /// </summary>
    public static NetworkInterfaceConfig Parse(string text, int position, string option = "--net")
    {
        NetworkBackendKind? backend = null;
        string? tap = null;
        string? mac = null;
        string id = $"net{position}";
        bool vhost = false;
        var forwards = new List<HostForward>();
        foreach (string part in text.Split(','))
        {
            int equals = part.IndexOf('=');
            string key = equals < 0 ? part : part[..equals];
            string value = equals < 0 ? string.Empty : part[(equals + 1)..];
            switch (key)
            {
                case "user" when equals < 0:
                    backend = NetworkBackendKind.User;
                    break;
                case "tap" when value.Length > 0:
                    backend = NetworkBackendKind.Tap;
                    tap = value;
                    break;
                case "hostfwd":
                    forwards.Add(ParseForward(value, text, option));
                    break;
                case "mac":
                    mac = value;
                    break;
                case "id":
                    id = value;
                    break;
                case "vhost" when value is "on" or "off":
                    vhost = value == "on";
                    break;
                default:
                    throw ConfigurationException.InvalidValue(
                        $"{option} '{text}': unknown '{part}'. Write user[,hostfwd=tcp:HOSTADDR:HOSTPORT-:GUESTPORT][,mac=MAC][,id=NAME] or tap=NAME[,vhost=on][,mac=MAC][,id=NAME].");
            }
        }

        if (backend == null)
        {
            throw ConfigurationException.InvalidValue($"{option} '{text}': say which network: user, or tap=NAME.");
        }

        return new NetworkInterfaceConfig { Id = id, Backend = backend.Value, HostDeviceName = tap, GuestMac = mac, HostForwards = forwards, Vhost = vhost };
    }

    /// <summary>Checks the fields a config file or API call could get wrong; <paramref name="index"/> counts interfaces from 0.</summary>
    public void Validate(int index)
    {
        string what = string.IsNullOrWhiteSpace(Id) ? $"network interface {index + 1}" : $"network interface '{Id}'";
        if (string.IsNullOrWhiteSpace(Id))
        {
            throw ConfigurationException.InvalidValue($"{what}: its id is empty. Give each interface a name.");
        }

        if (Backend == NetworkBackendKind.Tap)
        {
            if (string.IsNullOrEmpty(HostDeviceName) || HostDeviceName.Length > 15 || HostDeviceName.Contains('/') || HostDeviceName.Any(char.IsWhiteSpace))
            {
                throw ConfigurationException.InvalidValue($"{what}: the TAP device name '{HostDeviceName}' is not a Linux interface name (1-15 characters, no '/' or spaces).");
            }

            if (HostForwards.Count > 0)
            {
                throw ConfigurationException.InvalidValue($"{what}: hostfwd works with user networking only; on a TAP network, reach the guest at its own address.");
            }
        }

        if (Vhost && Backend != NetworkBackendKind.Tap)
        {
            throw ConfigurationException.InvalidValue($"{what}: vhost=on works with a TAP device only (tap=NAME,vhost=on); user networking goes through passt.");
        }

        if (GuestMac != null && (MacAddress.TryParse(GuestMac) is not { } mac || MacAddress.IsMulticast(mac)))
        {
            throw ConfigurationException.InvalidValue($"{what}: mac '{GuestMac}' is not a unicast MAC address. Write six hex bytes, e.g. 52:54:00:12:34:56 (the first byte even).");
        }
    }

    /// <summary>The MAC the guest sees: the given one, or a stable default from the id.</summary>
    public byte[] ResolveMac() => GuestMac != null && MacAddress.TryParse(GuestMac) is { } mac ? mac : MacAddress.Default(Id);

    /// <summary>QEMU's <c>tcp:HOSTADDR:HOSTPORT-GUESTADDR:GUESTPORT</c>; the guest address, when given, must be passt's 10.0.2.15.</summary>
    private static HostForward ParseForward(string value, string text, string option)
    {
        string Usage() => $"{option} '{text}': hostfwd '{value}' is not [tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT (e.g. tcp:127.0.0.1:8080-:80).";
        string protocol = "tcp";
        string rest = value;
        if (rest.StartsWith("tcp:", StringComparison.Ordinal) || rest.StartsWith("udp:", StringComparison.Ordinal))
        {
            protocol = rest[..3];
            rest = rest[4..];
        }

        int dash = rest.IndexOf('-');
        if (dash < 0)
        {
            throw ConfigurationException.InvalidValue(Usage());
        }

        string host = rest[..dash];
        string guest = rest[(dash + 1)..];
        int hostColon = host.LastIndexOf(':');
        int guestColon = guest.LastIndexOf(':');
        string hostAddress = hostColon < 0 ? string.Empty : host[..hostColon];
        string hostPort = hostColon < 0 ? host : host[(hostColon + 1)..];
        string guestAddress = guestColon < 0 ? string.Empty : guest[..guestColon];
        string guestPort = guestColon < 0 ? guest : guest[(guestColon + 1)..];
        if (!TryPort(hostPort, out int hostNumber) || !TryPort(guestPort, out int guestNumber))
        {
            throw ConfigurationException.InvalidValue(Usage());
        }

        if (hostAddress.Length > 0 && !System.Net.IPAddress.TryParse(hostAddress, out _))
        {
            throw ConfigurationException.InvalidValue($"{option} '{text}': hostfwd host address '{hostAddress}' is not an IP address.");
        }

        if (guestAddress.Length > 0 && guestAddress != Passt.GuestAddress)
        {
            throw ConfigurationException.InvalidValue($"{option} '{text}': hostfwd can only reach the guest's own address {Passt.GuestAddress}, not '{guestAddress}'.");
        }

        return new HostForward(protocol, hostAddress.Length > 0 ? hostAddress : null, hostNumber, guestNumber);
    }

    private static bool TryPort(string text, out int port) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port is > 0 and < 65536;
}
