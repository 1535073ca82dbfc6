namespace Vessel.Devices.Networking;

/// <summary>A host port forwarded to a guest port (QEMU's <c>hostfwd=tcp:HOSTADDR:HOSTPORT-:GUESTPORT</c>).</summary>
/// <param name="Protocol">"tcp" or "udp".</param>
/// <param name="HostAddress">The host address to listen on; null for all.</param>
public sealed record HostForward(string Protocol, string? HostAddress, int HostPort, int GuestPort);
