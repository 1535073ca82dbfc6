using System.Runtime.InteropServices;

namespace Vessel.Cli.Terminal;

/// <summary>
/// Puts the host terminal in raw mode while a guest owns the console (keys go to the guest unprocessed, Ctrl-C included)
/// and restores it on dispose. Does nothing when stdin is not a terminal.
/// </summary>
public sealed partial class RawTerminal : IDisposable
{
    private const int StandardInput = 0;
    private const int SetNow = 0;

    /// <summary>struct termios on Linux x86-64 is 60 bytes; we only copy it around and let libc edit it.</summary>
    private const int TermiosSize = 60;

    private readonly byte[]? saved;

    private RawTerminal(byte[]? saved) => this.saved = saved;

    public bool IsRaw => saved != null;

    public static bool StandardInputIsTerminal => IsTerminal(StandardInput) == 1;

    public static RawTerminal Enter()
    {
        if (!StandardInputIsTerminal)
        {
            return new RawTerminal(null);
        }

        var original = new byte[TermiosSize];
        if (GetAttributes(StandardInput, original) != 0)
        {
            return new RawTerminal(null);
        }

        var raw = (byte[])original.Clone();
        MakeRaw(raw);
        SetAttributes(StandardInput, SetNow, raw);
        return new RawTerminal(original);
    }

    public void Dispose()
    {
        if (saved != null)
        {
            SetAttributes(StandardInput, SetNow, saved);
        }
    }

    [LibraryImport("libc", EntryPoint = "isatty")]
    private static partial int IsTerminal(int descriptor);

    [LibraryImport("libc", EntryPoint = "tcgetattr")]
    private static partial int GetAttributes(int descriptor, [Out] byte[] termios);

    [LibraryImport("libc", EntryPoint = "tcsetattr")]
    private static partial int SetAttributes(int descriptor, int when, byte[] termios);

    [LibraryImport("libc", EntryPoint = "cfmakeraw")]
    private static partial void MakeRaw(byte[] termios);
}
