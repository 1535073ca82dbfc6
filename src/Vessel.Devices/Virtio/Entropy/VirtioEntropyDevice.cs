using System.Security.Cryptography;
using Vessel.Devices.Virtio.Queues;

namespace Vessel.Devices.Virtio.Entropy;

/// <summary>
/// virtio-rng (virtio 1.2 §5.4): fills each buffer the driver offers with bytes from the host's CSPRNG (getrandom(2) behind
/// <see cref="RandomNumberGenerator"/>), as Cloud Hypervisor and Firecracker do. The guest sees it as /dev/hwrng.
/// </summary>
public sealed class VirtioEntropyDevice : VirtioDevice
{
    /// <summary>Bytes given per request at most; the driver asks again for more.</summary>
    private const int MaximumPerRequest = 64 * 1024;

    private readonly DescriptorChain chain = new(256);
    private readonly Func<DescriptorChain, uint> serve;

    public VirtioEntropyDevice()
    {
        serve = Serve;
    }

    public override VirtioDeviceType Type => VirtioDeviceType.Entropy;

    public override ulong DeviceFeatures => 0;

    public override int QueueCount => 1;

    public override int ConfigurationSize => 0;

    public override void ReadConfiguration(int offset, Span<byte> data) => data.Clear();

    public override void ProcessQueue(int queueIndex) => ServeRequests(queueIndex, chain, serve);

    private uint Serve(DescriptorChain request)
    {
        var memory = Context!.Memory;
        ulong budget = MaximumPerRequest;
        uint written = 0;
        foreach (var segment in request.Segments)
        {
            if (!segment.DeviceWritable || budget == 0)
            {
                continue;
            }

            int length = (int)Math.Min(segment.Length, budget);
            if (memory.TryGetSpan(segment.Address, length, out var buffer))
            {
                RandomNumberGenerator.Fill(buffer);
                memory.NotifyExternalWrite(segment.Address, (ulong)length);
                written += (uint)length;
                budget -= (ulong)length;
            }
        }

        return written;
    }
}
