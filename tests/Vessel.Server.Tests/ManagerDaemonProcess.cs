using System.Diagnostics;
using System.Text;
using Vessel.Server.Client;
using Vessel.Server.Models;

namespace Vessel.Server.Tests;

/// <summary>
/// A real <c>vessel serve</c> (the CLI built beside these tests) on a socket and state folder of its own in a
/// temporary folder, with its VMs on the software CPU; disposing it stops its VMs, the daemon and deletes the folder.
/// </summary>
public sealed class ManagerDaemonProcess : IDisposable
{
    private readonly StringBuilder stderr = new();
    private readonly Lock sync = new();
    private Process process;

    public ManagerDaemonProcess(params string[] extraArguments)
    {
        Directory.CreateDirectory(Root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        ExtraArguments = extraArguments;
        process = Launch();
        Client = new ManagerClient(SocketPath);
    }

    public string Root { get; } = Path.Combine(Path.GetTempPath(), $"vessel-serve-{Guid.NewGuid():N}"[..24]);

    public string SocketPath => Path.Combine(Root, "vessel.sock");

    public string StateDirectory => Path.Combine(Root, "state");

    public ManagerClient Client { get; }

    public int ProcessId => process.Id;

    public string[] ExtraArguments { get; }

    public string Errors
    {
        get
        {
            lock (sync)
            {
                return stderr.ToString();
            }
        }
    }

    /// <summary>The CLI built beside these tests: src/Vessel.Cli/bin/CONFIGURATION/net10.0/vessel.dll.</summary>
    public static string VesselDll
    {
        get
        {
            var testOutput = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/'));
            string configuration = testOutput.Parent!.Name;
            var root = testOutput;
            while (root != null && !File.Exists(Path.Combine(root.FullName, "Vessel.slnx")))
            {
                root = root.Parent;
            }

            return Path.Combine(root!.FullName, "src", "Vessel.Cli", "bin", configuration, testOutput.Name, "vessel.dll");
        }
    }

    /// <summary>Runs a CLI verb against this daemon; returns its exit status, stdout and stderr.</summary>
    public (int Status, string Output, string Errors) Cli(params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(VesselDll);
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["VESSEL_SOCKET"] = SocketPath;
        using var cli = Process.Start(start)!;
        var output = cli.StandardOutput.ReadToEndAsync();
        var errors = cli.StandardError.ReadToEndAsync();
        if (!cli.WaitForExit(TimeSpan.FromSeconds(120)))
        {
            cli.Kill();
            throw new TimeoutException($"vessel {string.Join(' ', arguments)} did not exit within 120 s.");
        }

        return (cli.ExitCode, output.Result, errors.Result);
    }

    /// <summary>Creates and starts a VM from <paramref name="config"/> (Firecracker JSON).</summary>
    public VmInfo Create(string name, string config, bool start = true) =>
        Client.CreateAsync(name, config, start).GetAwaiter().GetResult();

    public VmInfo Get(string name) => Client.GetAsync(name).GetAwaiter().GetResult();

    /// <summary>Waits until <paramref name="text"/> is in the VM's console log.</summary>
    public string WaitForConsole(string name, string text, TimeSpan timeout)
    {
        string log = string.Empty;
        bool found = SpinWait.SpinUntil(
            () =>
            {
                using var stream = Client.LogsAsync(name, follow: false).GetAwaiter().GetResult();
                log = new StreamReader(stream, Encoding.Latin1).ReadToEnd();
                if (log.Contains(text, StringComparison.Ordinal))
                {
                    return true;
                }

                Thread.Sleep(50);
                return false;
            },
            timeout);
        Assert.True(found, $"'{text}' did not appear on {name}'s console within {timeout.TotalSeconds} s; it holds:\n{log}\ndaemon stderr:\n{Errors}");
        return log;
    }

    /// <summary>Waits until <paramref name="condition"/> holds for the VM, polling its info; returns the elapsed time.</summary>
    public TimeSpan WaitFor(string name, Func<VmInfo, bool> condition, TimeSpan timeout)
    {
        var stopwatch = Stopwatch.StartNew();
        VmInfo? last = null;
        while (stopwatch.Elapsed < timeout)
        {
            last = Get(name);
            if (condition(last))
            {
                return stopwatch.Elapsed;
            }

            Thread.Sleep(20);
        }

        Assert.Fail($"VM {name} did not reach the expected state within {timeout.TotalSeconds} s; last: {last}");
        return stopwatch.Elapsed;
    }

    public void KillDaemon()
    {
        process.Kill();
        process.WaitForExit();
    }

    public void Restart()
    {
        process.Dispose();
        process = Launch();
    }

    public void Dispose()
    {
        try
        {
            if (!process.HasExited)
            {
                foreach (var vm in Client.ListAsync().GetAwaiter().GetResult())
                {
                    if (vm.State is VmState.Running or VmState.Paused)
                    {
                        Client.StopAsync(vm.Name, force: true).GetAwaiter().GetResult();
                    }
                }
            }
        }
        catch (ManagerClientException)
        {
            // The daemon is gone: the VMM processes are ended below by their recorded pids.
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill();
                process.WaitForExit();
            }

            process.Dispose();
            Client.Dispose();
            KillRecordedVmms();
            Directory.Delete(Root, recursive: true);
        }
    }

    private void KillRecordedVmms()
    {
        if (!Directory.Exists(StateDirectory))
        {
            return;
        }

        foreach (string record in Directory.EnumerateFiles(StateDirectory, "vm.json", SearchOption.AllDirectories))
        {
            string text = File.ReadAllText(record);
            int at = text.IndexOf("\"pid\":", StringComparison.Ordinal);
            if (at >= 0 && int.TryParse(new string(text[(at + 6)..].TakeWhile(char.IsDigit).ToArray()), out int pid))
            {
                try
                {
                    using var vmm = Process.GetProcessById(pid);
                    if (vmm.ProcessName is "dotnet" or "vessel")
                    {
                        vmm.Kill();
                    }
                }
                catch (ArgumentException)
                {
                    // Already gone.
                }
            }
        }
    }

    private Process Launch()
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (string argument in (string[])[VesselDll, "serve", "--socket", SocketPath, "--state-dir", StateDirectory, "--accel", "software", .. ExtraArguments])
        {
            start.ArgumentList.Add(argument);
        }

        var daemon = Process.Start(start)!;
        daemon.ErrorDataReceived += (_, line) =>
        {
            lock (sync)
            {
                stderr.AppendLine(line.Data);
            }
        };
        daemon.OutputDataReceived += (_, _) => { };
        daemon.BeginErrorReadLine();
        daemon.BeginOutputReadLine();
        bool listening = SpinWait.SpinUntil(
            () =>
            {
                if (daemon.HasExited)
                {
                    return true;
                }

                try
                {
                    using var probe = new ManagerClient(SocketPath, TimeSpan.FromSeconds(5));
                    probe.ListAsync().GetAwaiter().GetResult();
                    return true;
                }
                catch (ManagerClientException)
                {
                    Thread.Sleep(50);
                    return false;
                }
            },
            TimeSpan.FromSeconds(60));
        Assert.True(listening && !daemon.HasExited, $"vessel serve did not start listening; stderr:\n{Errors}");
        return daemon;
    }
}
