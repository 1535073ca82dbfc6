namespace Vessel.Core.Accel.State;

/// <summary>The 8254 PIT (KVM's kvm_pit_state2): three counters and whether channel 2's gate follows port 0x61.</summary>
public sealed class PitState
{
    public const int ChannelCount = 3;

    public PitChannelState[] Channels { get; set; } = [new(), new(), new()];

    /// <summary>Port 0x61 bit 1: the speaker data line.</summary>
    public bool SpeakerDataOn { get; set; }
}

/// <summary>
/// One 8254 counter (Intel 82C54 datasheet), as KVM's kvm_pit_channel_state holds it, with the time since the count
/// was loaded in guest nanoseconds rather than a host timestamp, so it stays right on another host or accelerator.
/// </summary>
public sealed record PitChannelState
{
    /// <summary>The initial count, 1 to 0x10000 (a written 0 means 0x10000).</summary>
    public int Count { get; init; } = 0x10000;

    /// <summary>Guest nanoseconds from the count's load to the save.</summary>
    public long NanosecondsSinceLoad { get; init; }

    public int Mode { get; init; }

    /// <summary>RW bits of the control word: 1 low byte, 2 high byte, 3 low then high.</summary>
    public int Access { get; init; } = 3;

    public bool Bcd { get; init; }

    public bool Gate { get; init; }

    /// <summary>The count has been written since the last control word (a counter never loaded does not fire).</summary>
    public bool Loaded { get; init; }

    /// <summary>Where the next data-port read is in a low/high byte pair (KVM's read_state).</summary>
    public int ReadState { get; init; } = 3;

    /// <summary>Where the next data-port write is (KVM's write_state).</summary>
    public int WriteState { get; init; } = 3;

    /// <summary>The low byte of a count being written in two halves.</summary>
    public byte WriteLatch { get; init; }

    /// <summary>A latched count not yet fully read, and which bytes are left (0 when none).</summary>
    public int LatchedCount { get; init; }

    public int CountLatched { get; init; }

    public bool StatusLatched { get; init; }

    public byte Status { get; init; }

    /// <summary>No count has been transferred into the counting element since the last write (read-back status bit 6).</summary>
    public bool NullCount { get; init; } = true;
}
