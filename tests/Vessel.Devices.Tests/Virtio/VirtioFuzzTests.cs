using System.Diagnostics;
using Vessel.Devices.Virtio;
using Xunit.Abstractions;

namespace Vessel.Devices.Tests.Virtio;

/// <summary>
/// Bounded fuzzing of each virtio device through its PCI transport (see docs/reliability.md). A fixed seed set and
/// episode count keep CI fast and reproducible; VESSEL_FUZZ_ITERATIONS sets the episodes per seed for a longer run, and
/// VESSEL_FUZZ_SEED runs one chosen seed (to reproduce a failure).
/// </summary>
public sealed class VirtioFuzzTests(ITestOutputHelper output)
{
    public const int DefaultEpisodes = 400;

    private static readonly int[] DefaultSeeds = [1, 2, 3, 20261204];

    public static TheoryData<VirtioDeviceType, int> Cases()
    {
        var data = new TheoryData<VirtioDeviceType, int>();
        string? chosen = Environment.GetEnvironmentVariable("VESSEL_FUZZ_SEED");
        int[] seeds = int.TryParse(chosen, out int seed) ? [seed] : DefaultSeeds;
        foreach (var type in new[] { VirtioDeviceType.Block, VirtioDeviceType.Entropy, VirtioDeviceType.Console })
        {
            foreach (int each in seeds)
            {
                data.Add(type, each);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Random_registers_and_rings_never_throw_and_leave_the_device_working_or_needing_a_reset(VirtioDeviceType type, int seed)
    {
        int episodes = Episodes();
        using var fuzzer = new VirtioFuzzer(type, seed);
        var clock = Stopwatch.StartNew();

        for (int episode = 0; episode < episodes; episode++)
        {
            try
            {
                fuzzer.RunEpisode();
            }
            catch (Exception exception)
            {
                Assert.Fail($"virtio-{type} seed {seed} episode {episode} (reproduce with VESSEL_FUZZ_SEED={seed} VESSEL_FUZZ_ITERATIONS={episode + 1}): {exception}");
            }
        }

        output.WriteLine($"virtio-{type} seed {seed}: {episodes} episodes x {VirtioFuzzer.StepsPerEpisode} steps in {clock.ElapsedMilliseconds} ms; " +
            $"{fuzzer.EndedNeedingReset} ended needing a reset, {fuzzer.EndedServing} still serving in place");

        // The fuzzer must reach both outcomes, or it is not exercising what it claims to.
        Assert.True(fuzzer.EndedNeedingReset > 0, "no episode broke a queue");
        Assert.True(fuzzer.EndedServing > 0, "no episode left the device running");
    }

    private static int Episodes()
    {
        string? configured = Environment.GetEnvironmentVariable("VESSEL_FUZZ_ITERATIONS");
        if (configured == null)
        {
            return DefaultEpisodes;
        }

        if (!int.TryParse(configured, out int episodes) || episodes < 1)
        {
            throw new ArgumentException($"VESSEL_FUZZ_ITERATIONS must be a positive whole number of episodes per seed, not '{configured}'.");
        }

        return episodes;
    }
}
