using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Vessel.Server;
using Vessel.Server.Models;

namespace Vessel.Cli.Commands;

/// <summary><c>vessel ps [--json]</c>: the daemon's VMs, a line each, or the API's JSON array.</summary>
public static class PsCommand
{
    public static Command Create()
    {
        var socket = ManagerVerb.SocketOption();
        var json = new Option<bool>("--json") { Description = "Print the JSON array the API returns (name, state, pid, vcpu_count, mem_size_mib, uptime_seconds, limits, reason)." };
        var command = new Command("ps", "List the VMs of the vessel serve daemon.") { json, socket };
        command.SetAction(parse => ManagerVerb.Run(parse.GetValue(socket), async client =>
        {
            var vms = await client.ListAsync().ConfigureAwait(false);
            Console.WriteLine(parse.GetValue(json) ? JsonSerializer.Serialize(vms, ManagerJsonContext.Default.ListVmInfo) : Table(vms));
            return 0;
        }));
        return command;
    }

    internal static string Table(IReadOnlyList<VmInfo> vms)
    {
        var rows = new List<string[]> { new[] { "NAME", "STATE", "PID", "VCPUS", "MEMORY", "UPTIME", "LIMITS", "REASON" } };
        rows.AddRange(vms.Select(vm => new[]
        {
            vm.Name,
            vm.State,
            vm.Pid?.ToString(CultureInfo.InvariantCulture) ?? "-",
            vm.VcpuCount.ToString(CultureInfo.InvariantCulture),
            $"{vm.MemSizeMib} MiB",
            vm.UptimeSeconds is { } seconds ? Uptime(seconds) : "-",
            Limits(vm.Limits),
            vm.RestoredFrom is { } snapshot ? $"restored from {snapshot}{(vm.Reason is { } reason ? $"; {reason}" : string.Empty)}" : vm.Reason ?? string.Empty,
        }));
        int[] widths = [.. Enumerable.Range(0, rows[0].Length - 1).Select(column => rows.Max(row => row[column].Length))];
        return string.Join('\n', rows.Select(row => (string.Concat(row[..^1].Select((cell, column) => cell.PadRight(widths[column] + 2))) + row[^1]).TrimEnd()));
    }

    private static string Uptime(double seconds)
    {
        var span = TimeSpan.FromSeconds(seconds);
        return span.TotalHours >= 1 ? $"{(int)span.TotalHours}h{span.Minutes:00}m" : span.TotalMinutes >= 1 ? $"{span.Minutes}m{span.Seconds:00}s" : $"{span.Seconds}s";
    }

    private static string Limits(VmLimits? limits) => limits switch
    {
        { CpuMax: { } cpu, MemoryMaxBytes: { } memory } =>
            $"cpu {double.Parse(cpu.Split(' ')[0], CultureInfo.InvariantCulture) / double.Parse(cpu.Split(' ')[1], CultureInfo.InvariantCulture):0.##}, mem {memory >> 20} MiB",
        _ => "none",
    };
}
