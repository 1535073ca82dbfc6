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
    public static int Run(BuiltMachine built, IMachineLog log)
    {
        var machine = built.Machine;
        using var terminal = RawTerminal.Enter();
        var stdout = Console.OpenStandardOutput();
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
            () => machine.RequestStop(MachineStop.HostRequest()),
            text =>
            {
                stdout.Write(System.Text.Encoding.ASCII.GetBytes(text));
                stdout.Flush();
            });
        using var input = new HostInputPump(new SafeFileHandle(0, ownsHandle: false), bytes => filter.Feed(bytes));
        input.Start();
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, context =>
        {
            context.Cancel = true;
            machine.RequestStop(MachineStop.HostRequest());
        });
        using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            machine.RequestStop(MachineStop.HostRequest());
        });

        var stop = machine.Run();
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
