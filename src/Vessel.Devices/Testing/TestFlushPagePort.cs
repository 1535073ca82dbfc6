using Vessel.Core.Bus;

namespace Vessel.Devices.Testing;

/// <summary>
/// pc-testdev's port 0xE4: under QEMU a write makes the host unmap and remap the guest page, to shake out hypervisor
/// caches of guest mappings. Vessel keeps no host-side mapping cache that such a flush would reach, so writes are
/// accepted and reads return zero.
/// </summary>
public sealed class TestFlushPagePort : IBusDevice
{
    public const int Size = 4;

    public void Read(ulong offset, Span<byte> data) => data.Clear();

    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
    }
}
