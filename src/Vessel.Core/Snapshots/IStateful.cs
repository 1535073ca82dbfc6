namespace Vessel.Core.Snapshots;

/// <summary>
/// Something whose guest-visible state a snapshot carries: a device's registers and queue positions, an interrupt
/// controller, a timer. Save writes the state as data; restore reads data written by the same or an older
/// <see cref="StateVersion"/>, so a snapshot taken by an older Vessel still loads after a device gains a register.
/// </summary>
/// <remarks>
/// Both run with the machine paused (no vCPU inside Run, I/O quiesced), on one thread. Restore validates everything it
/// reads (a snapshot file is untrusted input) and throws <see cref="SnapshotFormatException"/> naming the field.
/// </remarks>
public interface IStateful
{
    /// <summary>Version of the layout <see cref="SaveState"/> writes; bump it when the layout changes.</summary>
    int StateVersion { get; }

    void SaveState(StateWriter writer);

    /// <param name="version">The <see cref="StateVersion"/> the data was written with, never newer than this one's.</param>
    void RestoreState(StateReader reader, int version);
}
