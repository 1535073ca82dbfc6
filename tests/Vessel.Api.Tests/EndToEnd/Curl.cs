using System.Diagnostics;

namespace Vessel.Api.Tests.EndToEnd;

/// <summary>curl on the API socket, as Firecracker's getting-started guide drives it.</summary>
public static class Curl
{
    /// <summary>Runs one request and returns the HTTP status and the body.</summary>
    public static (int Status, string Body) Send(string socket, string method, string path, string? json = null)
    {
        var start = new ProcessStartInfo("curl") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in new[] { "--silent", "--show-error", "--unix-socket", socket, "-X", method, $"http://localhost{path}", "-H", "Accept: application/json", "-w", "\n%{http_code}" })
        {
            start.ArgumentList.Add(argument);
        }

        if (json != null)
        {
            start.ArgumentList.Add("-H");
            start.ArgumentList.Add("Content-Type: application/json");
            start.ArgumentList.Add("-d");
            start.ArgumentList.Add(json);
        }

        using var process = Process.Start(start)!;
        string output = process.StandardOutput.ReadToEnd();
        string errors = process.StandardError.ReadToEnd();
        if (!process.WaitForExit(TimeSpan.FromSeconds(60)) || process.ExitCode != 0)
        {
            throw new InvalidOperationException($"curl {method} {path} failed: {errors}");
        }

        int split = output.LastIndexOf('\n');
        return (int.Parse(output[(split + 1)..], System.Globalization.CultureInfo.InvariantCulture), output[..split]);
    }

    /// <summary>Sends a request that must succeed with 204, Firecracker's answer to every accepted PUT or PATCH.</summary>
    public static void Expect204(string socket, string method, string path, string json)
    {
        var (status, body) = Send(socket, method, path, json);
        Assert.True(status == 204, $"{method} {path} answered {status}: {body}");
    }
}
