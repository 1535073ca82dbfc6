namespace Vessel.Cli.Terminal;

/// <summary>
/// QEMU's console escapes: Ctrl-A X quits, Ctrl-A H prints help, Ctrl-A Ctrl-A sends one Ctrl-A to the guest.
/// Everything else passes through to the guest unchanged.
/// </summary>
public sealed class EscapeSequenceFilter(Action<ReadOnlySpan<byte>> toGuest, Action quit, Action<string> toUser)
{
    public const byte EscapeKey = 0x01;

    private bool escapePending;

    public void Feed(ReadOnlySpan<byte> input)
    {
        int start = 0;
        for (int i = 0; i < input.Length; i++)
        {
            byte key = input[i];
            if (escapePending)
            {
                escapePending = false;
                start = i + 1;
                switch (key)
                {
                    case (byte)'x' or (byte)'X':
                        quit();
                        return;
                    case EscapeKey:
                        toGuest([EscapeKey]);
                        break;
                    case (byte)'h' or (byte)'H' or (byte)'?':
                        toUser("\r\nC-a x    exit Vessel\r\nC-a h    print this help\r\nC-a C-a  send C-a to the guest\r\n");
                        break;
                }

                continue;
            }

            if (key == EscapeKey)
            {
                if (i > start)
                {
                    toGuest(input[start..i]);
                }

                escapePending = true;
                start = i + 1;
            }
        }

        if (!escapePending && start < input.Length)
        {
            toGuest(input[start..]);
        }
    }
}
