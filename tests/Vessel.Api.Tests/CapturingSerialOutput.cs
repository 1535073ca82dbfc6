using System.Text;
using Vessel.Devices.Serial;

namespace Vessel.Api.Tests;

/// <summary>Collects the guest's console output so a test can wait for it and compare it over time.</summary>
public sealed class CapturingSerialOutput : ISerialOutput
{
    private readonly StringBuilder text = new();
    private readonly Lock sync = new();

    public string Text
    {
        get
        {
            lock (sync)
            {
                return text.ToString();
            }
        }
    }

    public void Write(ReadOnlySpan<byte> data)
    {
        lock (sync)
        {
            text.Append(Encoding.Latin1.GetString(data));
        }
    }

    public void Flush()
    {
    }
}
