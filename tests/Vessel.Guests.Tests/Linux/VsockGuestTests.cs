using System.Net.Sockets;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using Vessel.Vmm.Configuration;
using Vessel.Vmm.Images;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace Vessel.Guests.Tests.Linux;

/// <summary>
/// The Debian guest on a virtio-vsock device, over Firecracker's Unix-socket convention: a guest program connects to host
/// port 6000 (the host's <c>{socket}_6000</c>) and the host echoes; a host client sends <c>CONNECT 5000</c> to the device's
/// socket and a guest listener echoes a megabyte back (more than either side's buffer, so credit flow control is exercised).
/// </summary>
public sealed class VsockGuestTests(ITestOutputHelper output) : IDisposable
{
    private const ulong MemoryBytes = 256UL << 20;
    private const uint GuestCid = 3;
    private const int GuestListenPort = 5000;
    private const int HostListenPort = 6000;
    private const int EchoBytes = 1 << 20;

    /// <summary>busybox has no vsock tool: <c>listen PORT</c> echoes one connection; <c>connect PORT TEXT</c> sends TEXT to the host and prints the answer.</summary>
    private const string EchoProgram = """
        #include <errno.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>
        #include <sys/socket.h>
        #include <unistd.h>
        #include <linux/vm_sockets.h>

        static int echo(int fd) {
            static char buffer[65536];
            for (;;) {
                ssize_t count = read(fd, buffer, sizeof buffer);
                if (count < 0 && errno == EINTR) continue;
                if (count < 0) { perror("read"); return 1; }
                if (count == 0) break;
                for (ssize_t done = 0; done < count;) {
                    ssize_t written = write(fd, buffer + done, count - done);
                    if (written < 0 && errno == EINTR) continue;
                    if (written < 0) { perror("write"); return 1; }
                    done += written;
                }
            }
            shutdown(fd, SHUT_WR);
            return 0;
        }

        int main(int argc, char **argv) {
            if (argc < 3) { fprintf(stderr, "usage: vsock-echo listen PORT | connect PORT TEXT\n"); return 2; }
            struct sockaddr_vm address;
            memset(&address, 0, sizeof address);
            address.svm_family = AF_VSOCK;
            address.svm_port = strtoul(argv[2], NULL, 10);
            int fd = socket(AF_VSOCK, SOCK_STREAM, 0);
            if (fd < 0) { perror("socket"); return 1; }
            if (strcmp(argv[1], "listen") == 0) {
                address.svm_cid = VMADDR_CID_ANY;
                if (bind(fd, (struct sockaddr *)&address, sizeof address) < 0) { perror("bind"); return 1; }
                if (listen(fd, 1) < 0) { perror("listen"); return 1; }
                printf("listening\n");
                fflush(stdout);
                int connection = accept(fd, NULL, NULL);
                if (connection < 0) { perror("accept"); return 1; }
                int status = echo(connection);
                close(connection);
                printf("echoed\n");
                return status;
            }
            address.svm_cid = VMADDR_CID_HOST;
            if (argc < 4 || connect(fd, (struct sockaddr *)&address, sizeof address) < 0) { perror("connect"); return 1; }
            if (write(fd, argv[3], strlen(argv[3])) < 0) { perror("write"); return 1; }
            shutdown(fd, SHUT_WR);
            char buffer[4096];
            ssize_t count;
            while ((count = read(fd, buffer, sizeof buffer)) > 0) fwrite(buffer, 1, count, stdout);
            printf("\n");
            return 0;
        }
        """;

    private readonly DirectoryInfo folder = Directory.CreateTempSubdirectory("vsock-guest-");

    public void Dispose() => folder.Delete(recursive: true);

    [Theory]
    [VsockGuest(GuestAccelerators.Kvm)]
    [VsockGuest(GuestAccelerators.Software)]
    public void Vsock_echoes_both_ways_between_a_guest_program_and_host_unix_sockets(string accelerator)
    {
        var images = GuestImages.TryLoad(out string reason) ?? throw new InvalidOperationException(reason);
        string initramfs = StaticGuestProgram.BuildInitramfs(images.InitramfsPath, "vsock-echo", EchoProgram, folder.FullName);
        string socketPath = Path.Combine(folder.FullName, "v.sock");
        using var hostEcho = new HostEchoServer($"{socketPath}_{HostListenPort}");
        using var guest = LinuxGuest.Boot(accelerator, 1, MemoryBytes, initramfs, new VsockConfig { GuestCid = GuestCid, UdsPath = socketPath });

        guest.Run("modprobe vmw_vsock_virtio_transport");
        Assert.Equal("hello host", guest.Run($"vsock-echo connect {HostListenPort} 'hello host'"));

        guest.Run($"vsock-echo listen {GuestListenPort} > /tmp/listen.log 2>&1 & true");
        Assert.Equal("listening", guest.Run("until grep -q listening /tmp/listen.log; do usleep 100000; done; cat /tmp/listen.log"));
        byte[] blob = RandomNumberGenerator.GetBytes(EchoBytes);
        using var client = ConnectToGuest(socketPath, GuestListenPort, out string okLine);
        output.WriteLine(okLine);
        Assert.Matches(@"^OK \d+$", okLine);
        // The guest echoes while it reads, so the host writes on its own thread and reads here, as any echo client must.
        var writer = new Thread(() =>
        {
            client.Send(blob);
            client.Shutdown(SocketShutdown.Send);
        });
        writer.Start();
        byte[] echoed = ReadToEnd(client);
        writer.Join();

        Assert.Equal(SHA256.HashData(blob), SHA256.HashData(echoed));
        Assert.Contains("echoed", guest.Run("wait; cat /tmp/listen.log"));
    }

    /// <summary>
    /// A snapshot does not carry vsock connections (as on Firecracker): the guest's open connection is reset by the restored
    /// device's TRANSPORT_RESET, and a new host connection through the restored machine's own socket echoes.
    /// </summary>
    [Theory]
    [VsockGuest(GuestAccelerators.Software)]
    public void After_a_restore_the_guests_old_vsock_connection_is_reset_and_a_new_one_echoes(string accelerator)
    {
        var images = GuestImages.TryLoad(out string reason) ?? throw new InvalidOperationException(reason);
        string initramfs = StaticGuestProgram.BuildInitramfs(images.InitramfsPath, "vsock-echo", EchoProgram, folder.FullName);
        string socketPath = Path.Combine(folder.FullName, "v.sock");
        string state = Path.Combine(folder.FullName, "vm.snap");
        string memory = Path.Combine(folder.FullName, "vm.mem");
        using (var guest = LinuxGuest.Boot(accelerator, 1, MemoryBytes, initramfs, new VsockConfig { GuestCid = GuestCid, UdsPath = socketPath }))
        {
            guest.Run("modprobe vmw_vsock_virtio_transport");
            guest.Run($"vsock-echo listen {GuestListenPort} > /tmp/old.log 2>&1 & true");
            guest.Run("until grep -q listening /tmp/old.log; do usleep 100000; done");
            using var open = ConnectToGuest(socketPath, GuestListenPort, out string okLine);
            Assert.Matches(@"^OK \d+$", okLine);
            guest.Snapshot(Vessel.Vmm.Snapshots.SnapshotType.Full, state, memory);
        }

        Assert.False(File.Exists(socketPath), "the snapshotted machine's vsock socket is removed when it ends");
        using var restored = LinuxGuest.Restore(accelerator, state, memory);

        // The echo program was blocked reading its connection: TRANSPORT_RESET ends that read with an error.
        Assert.Contains("read:", restored.Run("wait; cat /tmp/old.log"));
        restored.Run($"vsock-echo listen {GuestListenPort + 1} > /tmp/new.log 2>&1 & true");
        restored.Run("until grep -q listening /tmp/new.log; do usleep 100000; done");
        using var client = ConnectToGuest(socketPath, GuestListenPort + 1, out string newOkLine);
        Assert.Matches(@"^OK \d+$", newOkLine);
        client.Send("after the restore"u8);
        client.Shutdown(SocketShutdown.Send);
        Assert.Equal("after the restore", Encoding.ASCII.GetString(ReadToEnd(client)));
        Assert.Contains("echoed", restored.Run("wait; cat /tmp/new.log"));
    }

    /// <summary>Connects to the device's socket and asks for the guest's port; the answer is the OK line, without its newline.</summary>
    private static Socket ConnectToGuest(string socketPath, int port, out string okLine)
    {
        var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { ReceiveTimeout = 120_000 };
        client.Connect(new UnixDomainSocketEndPoint(socketPath));
        client.Send(Encoding.ASCII.GetBytes($"CONNECT {port}\n"));
        var line = new StringBuilder();
        var one = new byte[1];
        while (client.Receive(one) == 1 && one[0] != '\n')
        {
            line.Append((char)one[0]);
        }

        okLine = line.ToString();
        return client;
    }

    private static byte[] ReadToEnd(Socket socket)
    {
        var received = new MemoryStream();
        var buffer = new byte[65536];
        int count;
        while ((count = socket.Receive(buffer)) > 0)
        {
            received.Write(buffer, 0, count);
        }

        return received.ToArray();
    }

    /// <summary>A Unix socket server that echoes each connection's bytes back once the client has shut its sending side.</summary>
    private sealed class HostEchoServer : IDisposable
    {
        private readonly Socket listener = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        private readonly Thread thread;

        public HostEchoServer(string path)
        {
            listener.Bind(new UnixDomainSocketEndPoint(path));
            listener.Listen(4);
            thread = new Thread(Serve) { IsBackground = true, Name = "vsock-host-echo" };
            thread.Start();
        }

        public void Dispose()
        {
            listener.Dispose();
            thread.Join(TimeSpan.FromSeconds(10));
        }

        private void Serve()
        {
            while (true)
            {
                Socket connection;
                try
                {
                    connection = listener.Accept();
                }
                catch (Exception exception) when (exception is SocketException or ObjectDisposedException)
                {
                    return;
                }

                using (connection)
                {
                    try
                    {
                        connection.ReceiveTimeout = 120_000;
                        connection.Send(ReadToEnd(connection));
                        connection.Shutdown(SocketShutdown.Send);
                    }
                    catch (SocketException)
                    {
                    }
                }
            }
        }
    }
}

/// <summary>A Linux guest row that also needs the vsock modules in the cached images and gcc; skipped, with the reason, where one is missing.</summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = true)]
public sealed class VsockGuestAttribute : DataAttribute
{
    private readonly string accelerator;

    public VsockGuestAttribute(string accelerator)
    {
        this.accelerator = accelerator;
        Skip = GuestAccelerators.SkipReason(accelerator) ?? GuestAccelerators.ImageRevisionMissing(2) ?? StaticGuestProgram.SkipReason()!;
    }

    public override IEnumerable<object[]> GetData(MethodInfo testMethod) => [[accelerator]];
}
