using Vessel.Core.Memory;

namespace Vessel.Devices.Virtio.Net;

/// <summary>
/// One virtqueue as vhost-net takes it over: its size and three areas (guest-physical), the available index to start from,
/// the doorbell eventfd the guest's notify signals (kick) and the eventfd that raises the queue's MSI-X vector (call).
/// </summary>
public readonly record struct VhostNetQueue(
    ushort Size,
    GuestAddress DescriptorTable,
    GuestAddress DriverArea,
    GuestAddress DeviceArea,
    ushort NextAvailable,
    int KickEventFd,
    int CallEventFd);
