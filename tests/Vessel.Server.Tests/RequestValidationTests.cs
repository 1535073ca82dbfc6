using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Vessel.Server.Tests;

/// <summary>What the daemon's API refuses, and how: a 4xx with <c>{"error": "..."}</c> that says what is wrong.</summary>
public sealed class RequestValidationTests : IDisposable
{
    private readonly ManagerDaemonProcess daemon = new();
    private readonly HttpClient http;
    private readonly string kernel;

    public RequestValidationTests()
    {
        kernel = TinyGuests.WriteIdle(daemon.Root);
        string socketPath = daemon.SocketPath;
        http = new HttpClient(new SocketsHttpHandler
        {
            ConnectCallback = async (_, cancellation) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellation);
                return new NetworkStream(socket, ownsSocket: true);
            },
        })
        { BaseAddress = new Uri("http://localhost/") };
    }

    public void Dispose()
    {
        http.Dispose();
        daemon.Dispose();
    }

    [Theory]
    [InlineData("{", "")]
    [InlineData("[]", "")]
    [InlineData("""{"config": {}}""", "name: required")]
    [InlineData("""{"name": "bad name!", "config": {}}""", "not a valid VM name")]
    [InlineData("""{"name": "x"}""", "config: required")]
    [InlineData("""{"name": "x", "config": 5}""", "config: required")]
    [InlineData("""{"name": "x", "config": {}, "colour": "blue"}""", "colour")]
    [InlineData("""{"name": "x", "config": {"machine-config": {"vcpu_count": 1}}}""", "boot-source: required")]
    [InlineData("""{"name": "x", "config": {"boot-source": {"kernel_image_path": "/nonexistent/vmlinux"}}}""", "does not exist")]
    [InlineData("""{"name": "x", "config": {"boot-source": {"kernel_image_path": "/bin/sh", "colour": 1}}}""", "boot-source.colour")]
    [InlineData("""{"name": "x", "config": {"boot-source": {"kernel_image_path": "/bin/sh"}, "machine-config": {"vcpu_count": 0}}}""", "vcpu_count: 0 is out of range")]
    [InlineData("""{"name": "x", "config": {"boot-source": {"kernel_image_path": "/bin/sh"}, "machine-config": {"vcpu_count": "two"}}}""", "machine-config.vcpu_count")]
    [InlineData("""{"name": "x", "config": {"boot-source": {"kernel_image_path": "/bin/sh"}, "balloon": {}}}""", "balloon: not supported")]
    public async Task A_malformed_create_request_answers_400_with_a_message(string body, string expected)
    {
        var (status, error) = await SendAsync(HttpMethod.Post, "v1/vms", body);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.False(string.IsNullOrWhiteSpace(error));
        Assert.Contains(expected, error);
        Assert.Empty(await daemon.Client.ListAsync());
    }

    [Fact]
    public async Task Unknown_names_duplicate_names_and_wrong_states_are_refused_with_404_or_409()
    {
        string config = TinyGuests.Config(kernel);
        daemon.Create("only", config, start: false);

        var duplicate = await SendAsync(HttpMethod.Post, "v1/vms", $$"""{"name": "only", "config": {{config}}}""");
        Assert.Equal(HttpStatusCode.Conflict, duplicate.Status);
        Assert.Contains("already exists", duplicate.Error);

        var unknown = await SendAsync(HttpMethod.Post, "v1/vms/nobody/start", null);
        Assert.Equal(HttpStatusCode.NotFound, unknown.Status);
        Assert.Contains("no VM named 'nobody'", unknown.Error);

        var pauseStopped = await SendAsync(HttpMethod.Post, "v1/vms/only/pause", null);
        Assert.Equal(HttpStatusCode.Conflict, pauseStopped.Status);
        Assert.Contains("only a running VM can be paused", pauseStopped.Error);

        var stopStopped = await SendAsync(HttpMethod.Post, "v1/vms/only/stop", """{"force": "yes"}""");
        Assert.Equal(HttpStatusCode.BadRequest, stopStopped.Status);

        var badTimeout = await SendAsync(HttpMethod.Post, "v1/vms/only/stop", """{"timeout_seconds": -1}""");
        Assert.Equal(HttpStatusCode.BadRequest, badTimeout.Status);
        Assert.Contains("timeout_seconds", badTimeout.Error);

        var noRoute = await SendAsync(HttpMethod.Put, "v1/vms/only", "{}");
        Assert.Equal(HttpStatusCode.BadRequest, noRoute.Status);

        var elsewhere = await SendAsync(HttpMethod.Get, "v2/things", null);
        Assert.Equal(HttpStatusCode.NotFound, elsewhere.Status);
    }

    [Fact]
    public async Task A_body_over_the_limit_is_refused_with_400()
    {
        string huge = "{\"name\": \"x\", \"config\": {\"boot-source\": {\"kernel_image_path\": \"/bin/sh\", \"boot_args\": \"" + new string('a', 100_000) + "\"}}}";

        var (status, error) = await SendAsync(HttpMethod.Post, "v1/vms", huge);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("bytes", error);
    }

    [Fact]
    public void The_socket_is_readable_and_writable_by_its_owner_only()
    {
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(daemon.SocketPath));
    }

    private async Task<(HttpStatusCode Status, string Error)> SendAsync(HttpMethod method, string path, string? body)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body != null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        using var response = await http.SendAsync(request);
        string text = await response.Content.ReadAsStringAsync();
        using var document = JsonDocument.Parse(text);
        return (response.StatusCode, document.RootElement.GetProperty("error").GetString()!);
    }
}
