using System.CommandLine;
using System.Net.WebSockets;
using Vessel.Cli.Terminal;

namespace Vessel.Cli.Commands;

/// <summary>
/// <c>vessel console NAME</c>: this terminal attached to a VM's serial console through the daemon (raw mode; Ctrl-A X
/// detaches and leaves the VM running, Ctrl-A H lists the escapes).
/// </summary>
public static class ConsoleCommand
{
    public static Command Create()
    {
        var socket = ManagerVerb.SocketOption();
        var name = ManagerVerb.NameArgument();
        var command = new Command("console", "Attach to a VM's serial console (Ctrl-A X detaches).") { name, socket };
        command.SetAction(parse => ManagerVerb.Run(parse.GetValue(socket), async client =>
        {
            string vm = parse.GetValue(name)!;
            using var webSocket = await client.ConnectConsoleAsync(vm, history: true).ConfigureAwait(false);
            Console.Error.WriteLine($"vessel: attached to {vm}'s console; Ctrl-A X detaches.\r");
            using var raw = RawTerminal.Enter();
            using var detach = new CancellationTokenSource();
            await using var stdout = Console.OpenStandardOutput();
            var output = Task.Run(async () =>
            {
                var buffer = new byte[16384];
                while (!detach.IsCancellationRequested)
                {
                    var received = await webSocket.ReceiveAsync(buffer, detach.Token).ConfigureAwait(false);
                    if (received.MessageType == WebSocketMessageType.Close)
                    {
                        return received.CloseStatusDescription;
                    }

                    await stdout.WriteAsync(buffer.AsMemory(0, received.Count), detach.Token).ConfigureAwait(false);
                    await stdout.FlushAsync(detach.Token).ConfigureAwait(false);
                }

                return null;
            });

            var pending = new List<byte[]>();
            var filter = new EscapeSequenceFilter(
                bytes => pending.Add(bytes.ToArray()),
                detach.Cancel,
                text => Console.Error.Write(text));
            var input = Task.Run(async () =>
            {
                await using var stdin = Console.OpenStandardInput();
                var buffer = new byte[1024];
                while (!detach.IsCancellationRequested)
                {
                    int read = await stdin.ReadAsync(buffer, detach.Token).ConfigureAwait(false);
                    if (read == 0)
                    {
                        return;
                    }

                    filter.Feed(buffer.AsSpan(0, read));
                    foreach (byte[] bytes in pending)
                    {
                        await webSocket.SendAsync(bytes, WebSocketMessageType.Binary, true, detach.Token).ConfigureAwait(false);
                    }

                    pending.Clear();
                }
            });

            string? closed = null;
            try
            {
                var first = await Task.WhenAny(output, input).ConfigureAwait(false);
                if (first == output)
                {
                    closed = await output.ConfigureAwait(false);
                }
            }
            catch (Exception exception) when (exception is WebSocketException or OperationCanceledException or IOException)
            {
                // Detached, or the daemon went away.
            }

            await detach.CancelAsync().ConfigureAwait(false);
            if (webSocket.State == WebSocketState.Open)
            {
                await webSocket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "detached", CancellationToken.None).ConfigureAwait(false);
            }

            Console.Error.WriteLine(closed != null && closed != "detached" ? $"\r\nvessel: {closed}.\r" : $"\r\nvessel: detached from {vm}.\r");
            return 0;
        }));
        return command;
    }
}
