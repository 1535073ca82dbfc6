using Microsoft.Extensions.Hosting;

namespace Vessel.Api;

/// <summary>
/// A host lifetime that does nothing: the VMM process, not the web host, owns SIGINT and SIGTERM (they stop the
/// machine, whose stop ends the process), so the default console lifetime must not take them.
/// </summary>
internal sealed class HostLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
