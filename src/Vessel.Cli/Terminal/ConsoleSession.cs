using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using Vessel.Core.Interrupts;
using Vessel.Core.Logging;
using Vessel.Devices.Serial;
using Vessel.Vmm.Building;

namespace Vessel.Cli.Terminal;

/// <summary>
/// Runs a built machine with its console UART on this terminal: raw mode while it runs, keys (or piped stdin) to the guest,
/// QEMU's Ctrl-A escapes, SIGINT and SIGTERM as a host stop. Returns the process exit status the stop reports.
/// </summary>
public static class ConsoleSession
{
    /// <summary>How long the guest's last output may take to reach stdout after the machine stopped, before we exit without it.</summary>
    private static readonly TimeSpan OutputDrainBound = TimeSpan.FromMilliseconds(500);

    /// <summary>SIGINT's and SIGTERM's exit statuses, 128 + the signal number, as a shell reports a process they ended.</summary>
    public const int InterruptedStatus = 128 + 2;
    public const int TerminatedStatus = 128 + 15;

    public static int Run(BuiltMachine built, ConsoleSerialOutput output, IMachineLog log)
    {
        var machine = built.Machine;

        // The stop abandons the console output first thing, so a vCPU waiting for a stdout nobody reads lets go at once.
        using var abandonOutput = machine.Stopping.Register(output.Abandon);
        using var terminal = RawTerminal.Enter();
        var filter = new EscapeSequenceFilter(
            bytes =>
            {
                if (built.ConsoleIsVirtio && built.VirtioConsole is { } virtioConsole)
                {
                    virtioConsole.EnqueueInput(bytes);
                }
                else
                {
                    built.Console.EnqueueInput(bytes);
                }
            },
            () => machine.RequestStop(MachineStop.HostRequest("stopped with Ctrl-A X")),
            text => output.Write(System.Text.Encoding.ASCII.GetBytes(text)));
        using var input = new HostInputPump(new SafeFileHandle(0, ownsHandle: false), bytes => filter.Feed(bytes));
        input.Start();
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, context =>
        {
            context.Cancel = true;
            machine.RequestStop(MachineStop.HostRequest("stopped by SIGINT", InterruptedStatus));
        });
        using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            machine.RequestStop(MachineStop.HostRequest("stopped by SIGTERM", TerminatedStatus));
        });

        var stop = machine.Run();
        output.WaitUntilDrained(OutputDrainBound);
        terminal.Dispose();
        switch (stop.Reason)
        {
            case MachineStopReason.Shutdown:
            case MachineStopReason.Failure:
                Console.Error.WriteLine($"\r\nvessel: {stop.Detail}");
                break;
            case MachineStopReason.Reset:
            case MachineStopReason.HostRequest:
            case MachineStopReason.PowerOff:
                log.Info(stop.Detail ?? stop.Reason.ToString());
                break;
        }

        return stop.ExitStatus;
    }
}
