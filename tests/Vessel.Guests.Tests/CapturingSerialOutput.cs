using System.Text;
using Vessel.Devices.Serial;

namespace Vessel.Guests.Tests;

/// <summary>Collects what the guest transmits on its console UART.</summary>
public sealed class CapturingSerialOutput : ISerialOutput
{
    private readonly StringBuilder text = new();

    public string Text
    {
        get
        {
            lock (text)
            {
                return text.ToString();
            }
        }
    }

    public void Write(ReadOnlySpan<byte> data)
    {
        lock (text)
        {
            text.Append(Encoding.ASCII.GetString(data));
        }
    }

    public void Flush()
    {
    }
}
