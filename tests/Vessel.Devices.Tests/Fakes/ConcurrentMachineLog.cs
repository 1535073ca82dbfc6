using System.Collections.Concurrent;
using Vessel.Core.Logging;

namespace Vessel.Devices.Tests.Fakes;

/// <summary>Keeps warnings logged from any thread (the I/O thread's, say).</summary>
public sealed class ConcurrentMachineLog : IMachineLog
{
    public ConcurrentQueue<string> Warnings { get; } = new();

    public void Info(string message)
    {
    }

    public void Warn(string message) => Warnings.Enqueue(message);
}
