using Vessel.Client;
using Vessel.Core.Logging;
using Vessel.Testing.Serial;
using Vessel.Vmm.Building;
using Vessel.Vmm.Snapshots;
using Vessel.X86;

namespace Vessel.Api.Tests;

/// <summary>
/// An API server on a fresh Unix socket in this process, with a controller whose machines run on the software CPU and
/// whose console is captured, and a <see cref="FirecrackerClient"/> connected to it: every test goes through the socket.
/// </summary>
public sealed class ApiHost : IAsyncDisposable
{
    private readonly string directory;

    private ApiHost(string directory, VmController controller, ApiServer server, CapturingSerialOutput console)
    {
        this.directory = directory;
        Controller = controller;
        Server = server;
        Console = console;
        Client = new FirecrackerClient(server.SocketPath);
    }

    public VmController Controller { get; }

    public ApiServer Server { get; }

    public FirecrackerClient Client { get; }

    public CapturingSerialOutput Console { get; }

    /// <summary>A scratch directory removed with the host, for kernels, logs and metrics files.</summary>
    public string Directory => directory;

    public static async Task<ApiHost> StartAsync()
    {
        string directory = Path.Combine(Path.GetTempPath(), $"vessel-api-{Guid.NewGuid():N}");
        System.IO.Directory.CreateDirectory(directory);
        var console = new CapturingSerialOutput();
        MachineFactory factory = (config, _, log) =>
            MachineBuilder.Build(config with { Accelerator = Vmm.Configuration.AcceleratorKind.Software }, new SoftwareAccelerator(), console, log);
        SnapshotRestorer restorer = (snapshotPath, memoryPath, resume, trackDirtyPages, _, log) =>
            MachineSnapshot.Restore(snapshotPath, memoryPath, resume, trackDirtyPages, _ => new SoftwareAccelerator(), console, log);
        var controller = new VmController(factory, NullMachineLog.Instance, "test-vm", restorer);
        var server = await ApiServer.StartAsync(Path.Combine(directory, "api.sock"), controller);
        return new ApiHost(directory, controller, server, console);
    }

    public string WriteFile(string name, byte[] contents)
    {
        string path = Path.Combine(directory, name);
        File.WriteAllBytes(path, contents);
        return path;
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Server.DisposeAsync();
        var built = Controller.Built;
        Controller.Dispose();
        if (built != null)
        {
            built.Machine.WaitForStop();
            built.Dispose();
        }

        System.IO.Directory.Delete(directory, recursive: true);
    }
}
