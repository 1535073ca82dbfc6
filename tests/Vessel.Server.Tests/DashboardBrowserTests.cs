using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.Playwright;
using Vessel.Server.Models;

namespace Vessel.Server.Tests;

/// <summary>
/// The dashboard in a real headless browser (Debian's chromium driven by Playwright): the VM list, pause and resume
/// buttons, snapshotting a counting guest and restoring it under a new name from the page, and typing into a guest's
/// serial console in xterm.js and seeing its echo.
/// </summary>
public sealed class DashboardBrowserTests : IDisposable
{
    private const string Token = "test-token-0123456789";
    private static readonly TimeSpan Boot = TimeSpan.FromSeconds(60);
    private readonly int port = FreePort();
    private readonly ManagerDaemonProcess daemon;

    public DashboardBrowserTests()
    {
        daemon = new ManagerDaemonProcess("--http", $"127.0.0.1:{port}", "--token", Token);
    }

    public void Dispose() => daemon.Dispose();

    [ChromiumFact]
    public async Task The_page_lists_the_vms_pauses_and_resumes_one_snapshots_and_restores_one_and_its_console_echoes_what_is_typed()
    {
        daemon.Create("counter", TinyGuests.Config(TinyGuests.WriteCounter(daemon.Root)));
        daemon.Create("idle", TinyGuests.Config(TinyGuests.WriteIdle(daemon.Root), vcpus: 2, memSizeMib: 32));
        daemon.Create("echo", TinyGuests.Config(TinyGuests.WriteEcho(daemon.Root)));
        daemon.Create("spare", TinyGuests.Config(TinyGuests.WriteIdle(daemon.Root)), start: false);
        daemon.WaitForConsole("echo", "echo ready", Boot);
        daemon.WaitForConsole("counter", "000002\n", Boot);
        string snapshotPath = Path.Combine(daemon.Root, "counter.snap");
        string memoryPath = Path.Combine(daemon.Root, "counter.mem");

        // Generous bounds: the machine running the tests may be loaded; each wait still ends as soon as the page shows it.
        Assertions.SetDefaultExpectTimeout(30_000);
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumFactAttribute.ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox"],
        });
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1200, Height = 760 } });
        page.SetDefaultTimeout(30_000);
        await page.GotoAsync($"http://127.0.0.1:{port}/#token={Token}");

        var idle = page.Locator("tr[data-vm='idle']");
        await Assertions.Expect(idle.Locator(".state")).ToHaveTextAsync("Running");
        await Assertions.Expect(page.Locator("tr[data-vm='spare'] .state")).ToHaveTextAsync("Stopped");
        await Assertions.Expect(idle.Locator("td").Nth(3)).ToHaveTextAsync("2");
        await Assertions.Expect(idle.Locator("td").Nth(4)).ToHaveTextAsync("32 MiB");

        await idle.Locator("button[data-action='pause']").ClickAsync();
        await Assertions.Expect(idle.Locator(".state")).ToHaveTextAsync("Paused");
        Assert.Equal(VmState.Paused, daemon.Get("idle").State);
        await idle.Locator("button[data-action='resume']").ClickAsync();
        await Assertions.Expect(idle.Locator(".state")).ToHaveTextAsync("Running");
        Assert.Equal(VmState.Running, daemon.Get("idle").State);

        // Snapshot: a refused request shows the daemon's sentence, as text (the markup in the path stays text).
        var snapshotForm = page.Locator("#snapshot-form");
        await page.Locator("tr[data-vm='counter'] button[data-action='snapshot']").ClickAsync();
        await Assertions.Expect(page.Locator("#snapshot-name")).ToHaveTextAsync("counter");
        await snapshotForm.Locator("input[name='snapshot_path']").FillAsync("<b>vm.snap</b>");
        await snapshotForm.Locator("input[name='mem_file_path']").FillAsync(memoryPath);
        await snapshotForm.Locator("button[type='submit']").ClickAsync();
        await Assertions.Expect(page.Locator("#snapshot-error")).ToContainTextAsync("snapshot_path: '<b>vm.snap</b>' is not an absolute path");
        Assert.Equal(0, await page.Locator("#snapshot-error b").CountAsync());
        Assert.False(File.Exists(memoryPath));

        await snapshotForm.Locator("input[name='snapshot_path']").FillAsync(snapshotPath);
        await snapshotForm.Locator("select[name='snapshot_type']").SelectOptionAsync("Full");
        await snapshotForm.Locator("button[type='submit']").ClickAsync();
        await Assertions.Expect(page.Locator("#notice")).ToHaveTextAsync($"Snapshot of counter written to {snapshotPath}.");
        await Assertions.Expect(snapshotForm).ToBeHiddenAsync();
        Assert.True(File.Exists(snapshotPath) && File.Exists(memoryPath));
        Assert.Equal(VmState.Running, daemon.Get("counter").State);

        // Restore it under a new name: listed Running, and its console goes on from a count the original printed.
        var restoreForm = page.Locator("#restore-form");
        await restoreForm.Locator("input[name='name']").FillAsync("copy");
        await restoreForm.Locator("input[name='snapshot_path']").FillAsync(snapshotPath);
        await restoreForm.Locator("input[name='mem_file_path']").FillAsync(memoryPath);
        await restoreForm.Locator("button[type='submit']").ClickAsync();
        await Assertions.Expect(page.Locator("#notice")).ToHaveTextAsync($"copy restored from {snapshotPath}.");
        await Assertions.Expect(page.Locator("tr[data-vm='copy'] .state")).ToHaveTextAsync("Running");
        Assert.Equal(snapshotPath, daemon.Get("copy").RestoredFrom);

        string copied = daemon.WaitForConsole("copy", "\n", Boot);
        int first = int.Parse(copied.Split('\n').First(line => line.Length == 6), CultureInfo.InvariantCulture);
        Assert.Contains(Count(first - 1) + "\n", daemon.WaitForConsole("counter", Count(first - 1), Boot));
        await page.Locator("tr[data-vm='copy'] button[data-action='console']").ClickAsync();
        await Assertions.Expect(page.Locator("#console-name")).ToHaveTextAsync("copy");
        await page.WaitForFunctionAsync($"() => {TerminalText}.includes('{Count(first)}') && {TerminalText}.includes('{Count(first + 2)}')");

        // The same form again with the name taken: the daemon's refusal shows under the form.
        await restoreForm.Locator("input[name='name']").FillAsync("copy");
        await restoreForm.Locator("button[type='submit']").ClickAsync();
        await Assertions.Expect(page.Locator("#restore-error")).ToContainTextAsync("A VM named 'copy' already exists");

        await page.Locator("tr[data-vm='echo'] button[data-action='console']").ClickAsync();
        await page.Locator("#terminal .xterm").WaitForAsync();
        await page.WaitForFunctionAsync($"() => {TerminalText}.includes('echo ready')");
        await page.Locator("#terminal").ClickAsync();
        await page.Keyboard.TypeAsync("typed in a browser");
        await page.WaitForFunctionAsync($"() => {TerminalText}.includes('typed in a browser')");
        Assert.Contains("typed in a browser", daemon.WaitForConsole("echo", "typed in a browser", Boot));

        if (Environment.GetEnvironmentVariable("VESSEL_DASHBOARD_SCREENSHOT") is { Length: > 0 } screenshot)
        {
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = screenshot, FullPage = true });
        }
    }

    [Fact]
    public async Task The_http_api_refuses_a_request_without_the_token_and_serves_the_page()
    {
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };

        using var refused = await http.GetAsync("v1/vms");
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Contains("token", await refused.Content.ReadAsStringAsync());

        using var wrong = new HttpRequestMessage(HttpMethod.Get, "v1/vms") { Headers = { { "Authorization", "Bearer nope" } } };
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync(wrong)).StatusCode);

        using var right = new HttpRequestMessage(HttpMethod.Get, "v1/vms") { Headers = { { "Authorization", $"Bearer {Token}" } } };
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(right)).StatusCode);

        using var page = await http.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("<title>Vessel</title>", await page.Content.ReadAsStringAsync());
    }

    [Fact]
    public void A_non_loopback_http_address_needs_allow_remote_and_a_token()
    {
        var refused = daemon.Cli("serve", "--socket", Path.Combine(daemon.Root, "other.sock"), "--state-dir", Path.Combine(daemon.Root, "other"), "--http", "0.0.0.0:1");

        Assert.Equal(2, refused.Status);
        Assert.Contains("not a loopback address", refused.Errors);
        Assert.Contains("--http-allow-remote and --token", refused.Errors);
    }

    private static string Count(int count) => count.ToString("D6", CultureInfo.InvariantCulture);

    /// <summary>The xterm.js buffer's text (the dashboard keeps its terminal in window.vesselTerminal).</summary>
    private const string TerminalText =
        "(() => { const b = window.vesselTerminal.buffer.active; let t = ''; for (let i = 0; i < b.length; i++) t += b.getLine(i).translateToString(true); return t; })()";

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
