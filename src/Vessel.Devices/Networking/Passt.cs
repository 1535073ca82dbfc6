using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Vessel.Core.Logging;
using Vessel.Devices.Io;

namespace Vessel.Devices.Networking;

/// <summary>
/// User-mode networking through passt (https://passt.top), one process per interface started by Vessel: passt gives the guest
/// QEMU's user-network view (DHCP 10.0.2.15/24, gateway 10.0.2.2 mapped to the host's loopback, DNS forwarded from 10.0.2.3) and
/// carries its TCP and UDP over ordinary host sockets, so it needs no root and no host set-up.
/// </summary>
public static class Passt
{
    public const string GuestAddress = "10.0.2.15";
    public const int PrefixLength = 24;
    public const string Gateway = "10.0.2.2";
    public const string DnsAddress = "10.0.2.3";

    /// <summary>passt's own largest MTU (65535 less room for its headers), which QEMU's passt documentation uses too.</summary>
    public const int Mtu = 65520;

    /// <summary>How long passt has to create and accept on its socket; generous for a loaded machine.</summary>
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(20);

    /// <summary>The passt executable on PATH, or null.</summary>
    public static string? FindExecutable()
    {
        foreach (string folder in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(folder, "passt");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>passt's arguments for QEMU's addressing and the forwards, with <paramref name="socketPath"/> as its socket.</summary>
    public static IReadOnlyList<string> Arguments(string socketPath, IReadOnlyList<HostForward> forwards)
    {
        var arguments = new List<string>
        {
            // Foreground, so Vessel owns the process; one client, so passt exits when the VM's socket closes.
            "--foreground", "--one-off", "--quiet",
            "--socket", socketPath,
            "--address", GuestAddress, "--netmask", PrefixLength.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--gateway", Gateway,
            "--dns-forward", DnsAddress,

            // Announced by DHCP (option 26): a guest that applies it receives up to 64 KiB per frame, 40 times fewer frames
            // than at 1500 bytes, which is what bounds a download on the software CPU (docs/performance.md).
            "--mtu", Mtu.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };

        foreach (string protocol in new[] { "tcp", "udp" })
        {
            var specs = forwards.Where(forward => forward.Protocol == protocol).Select(Spec).ToList();
            arguments.Add(protocol == "tcp" ? "--tcp-ports" : "--udp-ports");
            arguments.Add(specs.Count == 0 ? "none" : string.Join(',', specs));
        }

        return arguments;
    }

    /// <summary>Starts passt and connects to it; throws <see cref="NetworkBackendException"/> saying what to do when it cannot.</summary>
    public static StreamNetworkBackend Start(IReadOnlyList<HostForward> forwards, IoEventLoop ioThread, IMachineLog log, string name)
    {
        string executable = FindExecutable()
            ?? throw new NetworkBackendException($"{name}: user networking needs passt, which is not installed. Install it (apt-get install passt) or use --net tap=NAME.");
        var folder = Directory.CreateTempSubdirectory("vessel-passt-");
        string socketPath = Path.Combine(folder.FullName, "passt.socket");
        var start = new ProcessStartInfo(executable)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (string argument in Arguments(socketPath, forwards))
        {
            start.ArgumentList.Add(argument);
        }

        if (Environment.IsPrivilegedProcess)
        {
            // Started by root, passt switches to nobody, who cannot reach a socket in our private (0700) folder and quits; it
            // stays root only when asked, and still confines itself (namespaces, seccomp) as it always does.
            start.ArgumentList.Add("--runas");
            start.ArgumentList.Add("0");
        }

        var messages = new StringBuilder();
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new NetworkBackendException($"{name}: could not start {executable}.");
        }
        catch (System.ComponentModel.Win32Exception exception)
        {
            folder.Delete(recursive: true);
            throw new NetworkBackendException($"{name}: could not start {executable} ({exception.Message}). Check that it is executable, or reinstall passt.", exception);
        }

        process.ErrorDataReceived += (_, line) => Collect(line.Data);
        process.OutputDataReceived += (_, line) => Collect(line.Data);
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();

        var owned = new PasstInstance(process, folder);
        try
        {
            var socket = Connect(socketPath, process, name, messages);
            return new StreamNetworkBackend(socket, ioThread, log, name, owned)
            {
                AnnouncedDnsServer = System.Net.IPAddress.Parse(DnsAddress).GetAddressBytes(),
            };
        }
        catch
        {
            owned.Dispose();
            throw;
        }

        void Collect(string? line)
        {
            if (string.IsNullOrWhiteSpace(line))
            {
                return;
            }

            lock (messages)
            {
                messages.AppendLine(line);
            }

            log.Info($"{name}: passt: {line}");
        }
    }

    private static Socket Connect(string socketPath, Process process, string name, StringBuilder messages)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (File.Exists(socketPath))
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    socket.Connect(new UnixDomainSocketEndPoint(socketPath));
                    return socket;
                }
                catch (SocketException)
                {
                    socket.Dispose();
                }
            }

            if (process.WaitForExit(TimeSpan.FromMilliseconds(25)))
            {
                process.WaitForExit();
                string said;
                lock (messages)
                {
                    said = messages.ToString().Trim();
                }

                throw new NetworkBackendException(
                    $"{name}: passt exited with status {process.ExitCode} before accepting the VM's connection{(said.Length > 0 ? $": {said}" : string.Empty)}. Check the --net options (a forwarded host port already in use?).");
            }

            if (clock.Elapsed > StartTimeout)
            {
                throw new NetworkBackendException($"{name}: passt did not open its socket {socketPath} within {StartTimeout.TotalSeconds:0} s.");
            }
        }
    }

    private static string Spec(HostForward forward) =>
        forward.HostAddress is { Length: > 0 } address ? $"{address}/{forward.HostPort}:{forward.GuestPort}" : $"{forward.HostPort}:{forward.GuestPort}";

    /// <summary>The passt process and its socket's folder, ended and removed with the interface.</summary>
    private sealed class PasstInstance(Process process, DirectoryInfo folder) : IDisposable
    {
        public void Dispose()
        {
            try
            {
                if (!process.HasExited)
                {
                    process.Kill();
                    process.WaitForExit(5000);
                }
            }
            catch (InvalidOperationException)
            {
            }

            process.Dispose();
            try
            {
                folder.Delete(recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
