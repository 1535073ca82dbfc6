using System.Text.Json;
using System.Text.Json.Serialization;

namespace Vessel.Client.Models;

/// <summary>
/// Firecracker's FullVmConfiguration: the body of <c>GET /vm/config</c> and the file <c>--config-file</c> reads. The
/// sections Vessel does not support yet (balloon, MMDS, CPU config, memory hotplug, pmem) are kept as raw JSON, so a
/// file that uses them is refused with a message rather than misread.
/// </summary>
public sealed record FullVmConfiguration
{
    [JsonPropertyName("boot-source")]
    public BootSource? BootSource { get; init; }

    [JsonPropertyName("machine-config")]
    public MachineConfiguration? MachineConfig { get; init; }

    [JsonPropertyName("drives")]
    public IReadOnlyList<Drive>? Drives { get; init; }

    [JsonPropertyName("network-interfaces")]
    public IReadOnlyList<NetworkInterface>? NetworkInterfaces { get; init; }

    [JsonPropertyName("vsock")]
    public Vsock? Vsock { get; init; }

    [JsonPropertyName("entropy")]
    public EntropyDevice? Entropy { get; init; }

    [JsonPropertyName("logger")]
    public Logger? Logger { get; init; }

    [JsonPropertyName("metrics")]
    public Metrics? Metrics { get; init; }

    [JsonPropertyName("serial")]
    public SerialDevice? Serial { get; init; }

    [JsonPropertyName("balloon")]
    public JsonElement? Balloon { get; init; }

    [JsonPropertyName("mmds-config")]
    public JsonElement? MmdsConfig { get; init; }

    [JsonPropertyName("cpu-config")]
    public JsonElement? CpuConfig { get; init; }

    [JsonPropertyName("memory-hotplug")]
    public JsonElement? MemoryHotplug { get; init; }

    [JsonPropertyName("pmem")]
    public JsonElement? Pmem { get; init; }
}
