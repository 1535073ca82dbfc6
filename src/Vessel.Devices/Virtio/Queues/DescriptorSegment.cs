using Vessel.Core.Memory;

namespace Vessel.Devices.Virtio.Queues;

/// <summary>One buffer of a descriptor chain, already checked to lie inside guest RAM.</summary>
public readonly record struct DescriptorSegment(GuestAddress Address, uint Length, bool DeviceWritable);
