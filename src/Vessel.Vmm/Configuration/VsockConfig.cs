using System.Globalization;

namespace Vessel.Vmm.Configuration;

/// <summary>
/// The virtio-vsock device, shaped like Firecracker's vsock resource: the guest's context ID and the host Unix socket
/// that host clients connect to (with <c>CONNECT PORT</c>); guest connections to host port P reach <c>{UdsPath}_P</c>.
/// </summary>
public sealed record VsockConfig
{
    /// <summary>Firecracker's minimum: CIDs 0-2 are reserved (hypervisor, local, host).</summary>
    public const uint MinGuestCid = 3;

    private const string Usage = "Write cid=N,socket=PATH (N from 3, e.g. cid=3,socket=/tmp/vm.vsock).";

    public required uint GuestCid { get; init; }

    public required string UdsPath { get; init; }

    /// <summary>Parses the CLI's <c>cid=N,socket=PATH</c> (<c>uds_path=</c> is accepted for the socket, Firecracker's name).</summary>
    public static VsockConfig Parse(string text, string option = "--vsock")
    {
        uint? cid = null;
        string? path = null;
        foreach (string part in text.Split(','))
        {
            int equals = part.IndexOf('=');
            string key = equals < 0 ? part : part[..equals];
            string value = equals < 0 ? string.Empty : part[(equals + 1)..];
            switch (key)
            {
                case "cid" or "guest_cid":
                    if (!uint.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out uint number) || number < MinGuestCid)
                    {
                        throw ConfigurationException.InvalidValue($"{option} '{text}': cid '{value}' is not a context ID from {MinGuestCid} to {uint.MaxValue} (0-2 are reserved).");
                    }

                    cid = number;
                    break;
                case "socket" or "uds_path" when value.Length > 0:
                    path = value;
                    break;
                default:
                    throw ConfigurationException.InvalidValue($"{option} '{text}': unknown '{part}'. {Usage}");
            }
        }

        if (cid == null || path == null)
        {
            throw ConfigurationException.InvalidValue($"{option} '{text}': {(cid == null ? "cid" : "socket")} is missing. {Usage}");
        }

        return new VsockConfig { GuestCid = cid.Value, UdsPath = path };
    }
}
