namespace Vessel.Devices.Networking;

/// <summary>
/// Where a virtio-net device's frames go and come from: passt's socket, a TAP device, or a test's fake. A backend moves whole
/// Ethernet frames, each optionally preceded by a virtio_net_hdr (TAP with IFF_VNET_HDR), and tells the device when frames may
/// be waiting. Every method but <see cref="Dispose"/> is called on the machine's I/O thread, except
/// <see cref="SetReceiveInterest"/>, which the device may also call from a vCPU thread (activation, reset).
/// </summary>
public interface INetworkBackend : IDisposable
{
    /// <summary>Bytes of virtio_net_hdr before each frame in both directions: 0 for plain Ethernet frames, or 12.</summary>
    int VirtioHeaderLength { get; }

    /// <summary>The virtio-net offload feature bits the backend honours (checksum, TSO, UFO); the device offers only these.</summary>
    ulong OffloadFeatures { get; }

    /// <summary>
    /// Registers what to call when a frame may be waiting. The backend calls it at most once per <see cref="SetReceiveInterest"/>
    /// (true): it turns its interest off first, so a device without receive buffers is not woken again and again.
    /// </summary>
    void Start(Action frameMayBeWaiting);

    /// <summary>Whether the backend should watch for incoming frames; the device turns it on when it runs dry of them.</summary>
    void SetReceiveInterest(bool interested);

    /// <summary>The driver's negotiated offloads, for a backend that must configure its host side (TUNSETOFFLOAD).</summary>
    void SetOffloads(ulong negotiatedFeatures);

    /// <summary>
    /// Copies the next waiting frame (with its header, if <see cref="VirtioHeaderLength"/> is not 0) into <paramref name="buffer"/>
    /// and returns its length; 0 when none is waiting. Never blocks. A frame larger than the buffer is dropped.
    /// </summary>
    int Receive(Span<byte> buffer);

    /// <summary>Sends one frame (with its header, if the backend takes one). A frame the host side refuses is dropped.</summary>
    void Send(ReadOnlySpan<byte> frame);
}
