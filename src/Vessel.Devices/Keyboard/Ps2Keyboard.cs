using Vessel.Core.Snapshots;

namespace Vessel.Devices.Keyboard;

/// <summary>
/// The keyboard behind the i8042's first port, as far as the host's commands go: it acknowledges and answers every
/// command Linux's atkbd driver sends while probing and configuring it. There is no host key input yet, so it never
/// produces scan codes of its own.
/// </summary>
internal sealed class Ps2Keyboard
{
    /// <summary>Replies beyond this many unread bytes are dropped; a well-behaved host reads each before the next command.</summary>
    public const int ReplyCapacity = 16;

    public const byte Acknowledge = 0xFA;

    public const byte BasicAssuranceTestPassed = 0xAA;

    public const byte ResendRequest = 0xFE;

    /// <summary>The two identify bytes of an MF2 keyboard; with translation the controller turns the second into 0x41.</summary>
    public const byte IdentityFirst = 0xAB;

    public const byte IdentitySecond = 0x83;

    private const byte DefaultScanCodeSet = 2;

    private readonly Queue<byte> replies = new(ReplyCapacity);
    private KeyboardCommand? awaitingArgumentFor;
    private byte scanCodeSet = DefaultScanCodeSet;
    private byte lastSent = Acknowledge;

    public bool HasReply => replies.Count > 0;

    /// <summary>The queued replies, a command waiting for its argument, the scan code set and the byte a Resend repeats.</summary>
    public void SaveState(StateWriter writer)
    {
        writer.WriteBytes([.. replies]);
        writer.WriteInt32(awaitingArgumentFor is { } command ? (byte)command : -1);
        writer.WriteByte(scanCodeSet);
        writer.WriteByte(lastSent);
    }

    public void RestoreState(StateReader reader)
    {
        var queued = reader.ReadBytes();
        if (queued.Length > ReplyCapacity)
        {
            throw reader.Malformed($"the keyboard holds {queued.Length} replies; it has room for {ReplyCapacity}");
        }

        int awaiting = reader.ReadInt32();
        if (awaiting is < -1 or > byte.MaxValue)
        {
            throw reader.Malformed($"the keyboard awaits an argument for command {awaiting}");
        }

        byte set = reader.ReadByte();
        if (set is < 1 or > 3)
        {
            throw reader.Malformed($"the keyboard's scan code set is {set}, not 1 to 3");
        }

        replies.Clear();
        foreach (byte value in queued)
        {
            replies.Enqueue(value);
        }

        awaitingArgumentFor = awaiting < 0 ? null : (KeyboardCommand)awaiting;
        scanCodeSet = set;
        lastSent = reader.ReadByte();
    }

    public bool TryTakeReply(out byte value) => replies.TryDequeue(out value);

    /// <summary>Queues scan codes as if keys were pressed; codes that do not fit the 16-byte buffer are lost, as on a real keyboard.</summary>
    public void SendScanCodes(ReadOnlySpan<byte> codes)
    {
        foreach (byte code in codes)
        {
            Send(code);
        }
    }

    public void Receive(byte value)
    {
        if (awaitingArgumentFor is { } command)
        {
            awaitingArgumentFor = null;
            ReceiveArgument(command, value);
            return;
        }

        switch ((KeyboardCommand)value)
        {
            case KeyboardCommand.SetLeds:
            case KeyboardCommand.ScanCodeSet:
            case KeyboardCommand.SetTypematicRateAndDelay:
                awaitingArgumentFor = (KeyboardCommand)value;
                Send(Acknowledge);
                break;
            case KeyboardCommand.Echo:
                Send((byte)KeyboardCommand.Echo);
                break;
            case KeyboardCommand.Identify:
                Send(Acknowledge);
                Send(IdentityFirst);
                Send(IdentitySecond);
                break;
            case KeyboardCommand.EnableScanning:
            case KeyboardCommand.DisableScanning:
            case KeyboardCommand.SetDefaults:
                Send(Acknowledge);
                break;
            case >= KeyboardCommand.SetAllKeysTypematic and <= KeyboardCommand.SetAllKeysMakeBreakTypematic:
                Send(Acknowledge);
                break;
            case KeyboardCommand.Resend:
                Send(lastSent);
                break;
            case KeyboardCommand.Reset:
                replies.Clear();
                scanCodeSet = DefaultScanCodeSet;
                Send(Acknowledge);
                Send(BasicAssuranceTestPassed);
                break;
            default:
                // An unknown command asks the host to resend, as a real keyboard (and QEMU's) does.
                Send(ResendRequest);
                break;
        }
    }

    private void ReceiveArgument(KeyboardCommand command, byte argument)
    {
        if (command == KeyboardCommand.ScanCodeSet)
        {
            if (argument == 0)
            {
                Send(Acknowledge);
                Send(scanCodeSet);
                return;
            }

            if (argument > 3)
            {
                Send(ResendRequest);
                return;
            }

            scanCodeSet = argument;
        }

        // LED state and typematic rate only shape key input, which this keyboard has none of; acknowledging is all.
        Send(Acknowledge);
    }

    private void Send(byte value)
    {
        lastSent = value;
        if (replies.Count < ReplyCapacity)
        {
            replies.Enqueue(value);
        }
    }
}
