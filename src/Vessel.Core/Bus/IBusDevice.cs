namespace Vessel.Core.Bus;

/// <summary>
/// A device as a bus sees it: reads and writes at an offset within the range it was registered for.
/// Called on the vCPU thread that made the access; a device that is shared between vCPUs locks itself.
/// </summary>
public interface IBusDevice
{
    void Read(ulong offset, Span<byte> data);

    void Write(ulong offset, ReadOnlySpan<byte> data);
}
