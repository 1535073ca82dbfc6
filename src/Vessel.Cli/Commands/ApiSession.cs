using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using Vessel.Api;
using Vessel.Client.Models;
using Vessel.Cli.Terminal;
using Vessel.Core.Accel;
using Vessel.Core.Interrupts;
using Vessel.Core.Logging;
using Vessel.Devices.Serial;
using Vessel.Kvm;
using Vessel.Vmm.Building;
using Vessel.Vmm.Configuration;
using Vessel.Vmm.Snapshots;
using Vessel.X86;

namespace Vessel.Cli.Commands;

/// <summary>
/// <c>vessel run --api-sock PATH</c> and/or <c>--config-file FILE</c>: Firecracker's way of running one microVM. The API
/// server (if asked for) listens first; a configuration file then configures and starts the machine, or the API does
/// it later with InstanceStart. The guest's serial console is this process's stdout and stdin, as in Firecracker; the
/// process exits with the machine's status when it stops, or 0 on SIGINT/SIGTERM before it started.
/// </summary>
internal static class ApiSession
{
    public static int Run(string? apiSocket, string? configFile, string instanceId, AcceleratorKind accel, string? cpu, IMachineLog hostLog, SnapshotLoadParams? load = null)
    {
        HostInputPump? input = null;
        MachineFactory factory = (config, output, log) =>
        {
            // The accelerator and CPU model are the command line's: Firecracker's API has no field for them.
            var effective = config with { Accelerator = accel, Cpu = cpu };
            var (accelerator, notice) = MachineLauncher.SelectAccelerator(effective.Accelerator);
            if (notice != null)
            {
                Console.Error.WriteLine($"vessel: {notice}");
            }

            BuiltMachine built;
            try
            {
                built = MachineBuilder.Build(effective, accelerator, output, log);
            }
            catch (KvmException exception)
            {
                throw new InvalidOperationException(exception.Message, exception);
            }

            input = new HostInputPump(new SafeFileHandle(0, ownsHandle: false), bytes => built.Console.EnqueueInput(bytes));
            input.Start();
            return built;
        };

        SnapshotRestorer restorer = (snapshotPath, memoryPath, resume, trackDirtyPages, output, log) =>
        {
            // The snapshot names its accelerator (and its CPU model in its configuration); the machine is rebuilt on that one.
            RestoredMachine restored;
            try
            {
                restored = MachineSnapshot.Restore(snapshotPath, memoryPath, resume, trackDirtyPages, SelectFor, output, log);
            }
            catch (KvmException exception)
            {
                throw new InvalidOperationException(exception.Message, exception);
            }

            input = new HostInputPump(new SafeFileHandle(0, ownsHandle: false), bytes => restored.Built.Console.EnqueueInput(bytes));
            input.Start();
            return restored;
        };

        using var controller = new VmController(factory, hostLog, instanceId, restorer);
        var hostStop = new TaskCompletionSource<MachineStop>(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnSignal(PosixSignalContext context)
        {
            // The shell's statuses for death by signal (128 + number), as the console session exits with.
            context.Cancel = true;
            var stop = context.Signal == PosixSignal.SIGINT
                ? MachineStop.HostRequest("stopped by SIGINT", ConsoleSession.InterruptedStatus)
                : MachineStop.HostRequest("stopped by SIGTERM", ConsoleSession.TerminatedStatus);
            if (controller.Built is { } running)
            {
                running.Machine.RequestStop(stop);
            }
            else
            {
                hostStop.TrySetResult(stop);
            }
        }

        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        ApiServer? server = null;
        try
        {
            if (apiSocket != null)
            {
                var self = System.Diagnostics.Process.GetCurrentProcess();
                var before = self.TotalProcessorTime;
                var sinceStart = DateTime.Now - self.StartTime;
                server = ApiServer.StartAsync(apiSocket, controller).GetAwaiter().GetResult();
                self.Refresh();
                hostLog.Info($"API server listening on {apiSocket}: {(DateTime.Now - self.StartTime).TotalMilliseconds:0} ms after the process started "
                    + $"({self.TotalProcessorTime.TotalMilliseconds:0} ms CPU; the server itself took {(self.TotalProcessorTime - before).TotalMilliseconds:0} ms CPU, "
                    + $"the runtime and CLI before it {before.TotalMilliseconds:0} ms, {sinceStart.TotalMilliseconds:0} ms wall)");
            }

            if (load != null)
            {
                controller.LoadSnapshot(load);
            }

            if (configFile != null)
            {
                controller.ApplyConfigFile(ConfigFile.Read(configFile));
            }

            var stop = Task.WhenAny(controller.Stopped, hostStop.Task).GetAwaiter().GetResult().GetAwaiter().GetResult();
            switch (stop.Reason)
            {
                case MachineStopReason.Shutdown:
                case MachineStopReason.Failure:
                    Console.Error.WriteLine($"\r\nvessel: {stop.Detail}");
                    break;
                default:
                    hostLog.Info(stop.Detail ?? stop.Reason.ToString());
                    break;
            }

            return stop.ExitStatus;
        }
        catch (Exception exception) when (exception is ApiRequestException or ApiServerException)
        {
            Console.Error.WriteLine($"vessel: {exception.Message}");
            return 1;
        }
        finally
        {
            input?.Dispose();
            server?.DisposeAsync().AsTask().GetAwaiter().GetResult();
            if (controller.Built is { } built && built.Machine.State == Vmm.Running.MachineState.Stopped)
            {
                built.Dispose();
            }
        }
    }

    private static IAccelerator SelectFor(MachineConfig config)
    {
        var (accelerator, _) = MachineLauncher.SelectAccelerator(config.Accelerator);
        return accelerator;
    }
}
