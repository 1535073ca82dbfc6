namespace Vessel.Devices.Serial;

/// <summary>
/// Sends a UART's output to the host's stdout, unbuffered: each write is flushed at once so a guest's prompt and
/// echoed keystrokes appear as they are produced, and nothing is lost if the VMM stops abruptly.
/// </summary>
public sealed class ConsoleSerialOutput : ISerialOutput
{
    // The raw stdout stream, not Console.Out: no text encoding and no writer-side buffer between guest and terminal.
    private readonly Stream standardOutput = Console.OpenStandardOutput();

    public void Write(ReadOnlySpan<byte> data)
    {
        standardOutput.Write(data);
        standardOutput.Flush();
    }

    public void Flush() => standardOutput.Flush();
}
