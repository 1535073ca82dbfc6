using Vessel.Core.Snapshots;

namespace Vessel.Devices.Tests.Snapshots;

/// <summary>Saves a device as the machine does (one named section), restores it elsewhere, and checks the bytes agree.</summary>
internal static class StateRoundTrip
{
    public const string SectionName = "device";

    public static byte[] Save(IStateful device)
    {
        var writer = new StateWriter();
        using (writer.BeginSection(SectionName, device.StateVersion))
        {
            device.SaveState(writer);
        }

        return writer.ToArray();
    }

    public static void Restore(IStateful device, byte[] saved)
    {
        var reader = new StateReader(saved, "test");
        reader.RestoreSection(SectionName, device);
        reader.ExpectEnd();
    }

    /// <summary>Restores <paramref name="saved"/> into <paramref name="fresh"/> and asserts saving it again gives the same bytes.</summary>
    public static void AssertSameAfterRestore(byte[] saved, IStateful fresh)
    {
        Restore(fresh, saved);
        Assert.Equal(saved, Save(fresh));
    }

    /// <summary>Every proper prefix of <paramref name="saved"/> is refused with a <see cref="SnapshotFormatException"/>.</summary>
    public static void AssertTruncationRefused(byte[] saved, Func<IStateful> fresh)
    {
        int step = Math.Max(1, saved.Length / 64);
        for (int length = 0; length < saved.Length; length += step)
        {
            byte[] cut = saved[..length];
            Assert.Throws<SnapshotFormatException>(() => Restore(fresh(), cut));
        }

        Assert.Throws<SnapshotFormatException>(() => Restore(fresh(), saved[..^1]));
    }
}
