using System.Net;
using Vessel.Client;
using Vessel.Client.Models;

namespace Vessel.Api.Tests;

/// <summary>Every endpoint before InstanceStart, through the real socket: what it accepts, reads back, and refuses.</summary>
public sealed class PreBootEndpointTests : IAsyncLifetime
{
    private ApiHost host = null!;

    private FirecrackerClient Client => host.Client;

    public async Task InitializeAsync() => host = await ApiHost.StartAsync();

    public async Task DisposeAsync() => await host.DisposeAsync();

    private async Task<string> RefusedAsync(Func<Task> request)
    {
        var error = await Assert.ThrowsAsync<FirecrackerApiException>(request);
        Assert.Equal(HttpStatusCode.BadRequest, error.StatusCode);
        Assert.False(string.IsNullOrWhiteSpace(error.FaultMessage));
        return error.FaultMessage;
    }

    private async Task<string> RawRefusedAsync(HttpMethod method, string path, string? body)
    {
        var (status, text) = await Client.SendRawAsync(method, path, body);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.StartsWith("{\"fault_message\":\"", text, StringComparison.Ordinal);
        return text;
    }

    private string Kernel() => host.WriteFile("kernel.elf", GuestPrograms.TscPrinter());

    [Fact]
    public async Task Get_root_describes_an_instance_that_has_not_started()
    {
        var info = await Client.GetInstanceInfoAsync();

        Assert.Equal("Not started", info.State);
        Assert.Equal("test-vm", info.Id);
        Assert.Equal("Vessel", info.AppName);
        Assert.Matches(@"^\d+\.\d+\.\d+$", info.VmmVersion);
    }

    [Fact]
    public async Task Get_version_reports_the_firecracker_api_version_followed()
    {
        var version = await Client.GetVersionAsync();

        Assert.Equal(VmController.FirecrackerApiVersion, version.FirecrackerVersionValue);
    }

    [Fact]
    public async Task Machine_config_starts_at_firecrackers_defaults()
    {
        var config = await Client.GetMachineConfigAsync();

        Assert.Equal(1, config.VcpuCount);
        Assert.Equal(128, config.MemSizeMib);
        Assert.False(config.Smt);
        Assert.False(config.TrackDirtyPages);
        Assert.Equal("None", config.HugePages);
    }

    [Fact]
    public async Task Put_machine_config_replaces_it_and_patch_changes_only_what_it_names()
    {
        await Client.PutMachineConfigAsync(new MachineConfiguration { VcpuCount = 2, MemSizeMib = 256 });
        await Client.PatchMachineConfigAsync(new MachineConfiguration { MemSizeMib = 512 });

        var config = await Client.GetMachineConfigAsync();
        Assert.Equal(2, config.VcpuCount);
        Assert.Equal(512, config.MemSizeMib);
    }

    [Theory]
    [InlineData("{\"vcpu_count\": 0, \"mem_size_mib\": 128}", "vcpu_count: 0 is out of range")]
    [InlineData("{\"vcpu_count\": 33, \"mem_size_mib\": 128}", "vcpu_count: 33 is out of range")]
    [InlineData("{\"vcpu_count\": 1, \"mem_size_mib\": 1}", "mem_size_mib: 1 is out of range")]
    [InlineData("{\"vcpu_count\": 1}", "vcpu_count and mem_size_mib are required")]
    [InlineData("{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"smt\": true}", "smt:")]
    [InlineData("{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"cpu_template\": \"T2\"}", "cpu_template: 'T2' is not supported")]
    [InlineData("{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"huge_pages\": \"2M\"}", "huge_pages:")]
    [InlineData("{\"vcpu_count\": \"one\", \"mem_size_mib\": 128}", "The request body is not valid")]
    [InlineData("{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"vcpus\": 2}", "'vcpus' is not a field of")]
    public async Task Put_machine_config_refuses_bad_values_naming_the_field(string body, string expected)
    {
        string fault = await RawRefusedAsync(HttpMethod.Put, "/machine-config", body);

        Assert.Contains(expected, fault, StringComparison.Ordinal);
        Assert.Equal(128, (await Client.GetMachineConfigAsync()).MemSizeMib);
    }

    [Fact]
    public async Task Put_boot_source_accepts_a_readable_kernel_and_shows_it_in_vm_config()
    {
        string kernel = Kernel();

        await Client.PutBootSourceAsync(new BootSource { KernelImagePath = kernel, BootArgs = "console=ttyS0" });

        var config = await Client.GetVmConfigAsync();
        Assert.Equal(kernel, config.BootSource!.KernelImagePath);
        Assert.Equal("console=ttyS0", config.BootSource.BootArgs);
    }

    [Theory]
    [InlineData("{\"kernel_image_path\": \"/nonexistent/vmlinux\"}", "kernel_image_path: '/nonexistent/vmlinux' does not exist")]
    [InlineData("{\"kernel_image_path\": \"/tmp\"}", "kernel_image_path: '/tmp' is a directory")]
    [InlineData("{\"kernel_image_path\": null}", "kernel_image_path")]
    [InlineData("{\"boot_args\": \"console=ttyS0\"}", "kernel_image_path")]
    [InlineData("{\"kernel_image_path\": \"/bin/sh\", \"initrd_path\": \"/nonexistent/initrd\"}", "initrd_path: '/nonexistent/initrd' does not exist")]
    [InlineData("{\"kernel_image_path\": ", "The request body is not valid")]
    [InlineData("[1, 2]", "The request body is not valid")]
    [InlineData("", "no body")]
    [InlineData("null", "null")]
    public async Task Put_boot_source_refuses_bad_bodies_with_a_fault_message(string body, string expected)
    {
        string fault = await RawRefusedAsync(HttpMethod.Put, "/boot-source", body.Length == 0 ? null : body);

        Assert.Contains(expected, fault, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Put_drive_accepts_a_root_drive_and_a_data_drive_and_lists_them()
    {
        string disk = host.WriteFile("rootfs.ext4", new byte[4096]);
        string data = host.WriteFile("data.img", new byte[4096]);

        await Client.PutDriveAsync(new Drive { DriveId = "data", PathOnHost = data, IsRootDevice = false, IsReadOnly = true });
        await Client.PutDriveAsync(new Drive { DriveId = "rootfs", PathOnHost = disk, IsRootDevice = true, IsReadOnly = false });

        var config = await Client.GetVmConfigAsync();
        Assert.Equal(["data", "rootfs"], config.Drives!.Select(d => d.DriveId));
        await Client.PutBootSourceAsync(new BootSource { KernelImagePath = Kernel(), BootArgs = "console=ttyS0" });
        var machine = host.Controller.ToMachineConfig();
        Assert.Equal(["rootfs", "data"], machine.Disks.Select(d => d.Id));
        Assert.True(machine.Disks[1].ReadOnly);
        Assert.EndsWith("root=/dev/vda rw", machine.CommandLine, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Put_drive_refuses_a_second_root_device_a_missing_file_and_a_mismatched_id()
    {
        string disk = host.WriteFile("rootfs.ext4", new byte[4096]);
        await Client.PutDriveAsync(new Drive { DriveId = "rootfs", PathOnHost = disk, IsRootDevice = true });

        Assert.Contains("root block device already exists", await RefusedAsync(() => Client.PutDriveAsync(new Drive { DriveId = "other", PathOnHost = disk, IsRootDevice = true })));
        Assert.Contains("path_on_host: '/nonexistent.img' does not exist", await RefusedAsync(() => Client.PutDriveAsync(new Drive { DriveId = "d2", PathOnHost = "/nonexistent.img", IsRootDevice = false })));
        Assert.Contains("does not match", await RawRefusedAsync(HttpMethod.Put, "/drives/a", $"{{\"drive_id\": \"b\", \"path_on_host\": \"{disk}\", \"is_root_device\": false}}"));
        Assert.Contains("is_root_device", await RawRefusedAsync(HttpMethod.Put, "/drives/c", $"{{\"drive_id\": \"c\", \"path_on_host\": \"{disk}\"}}"));
        Assert.Contains("cache_type", await RefusedAsync(() => Client.PutDriveAsync(new Drive { DriveId = "d3", PathOnHost = disk, IsRootDevice = false, CacheType = "Fast" })));
        Assert.Contains("vhost-user", await RefusedAsync(() => Client.PutDriveAsync(new Drive { DriveId = "d4", Socket = "/tmp/vhost.sock", IsRootDevice = false })));
    }

    [Fact]
    public async Task Patch_drive_before_start_is_refused()
    {
        Assert.Contains("before starting", await RefusedAsync(() => Client.PatchDriveAsync(new PartialDrive { DriveId = "rootfs" })));
    }

    [Fact]
    public async Task Put_network_interface_validates_names_and_macs_and_is_read_back()
    {
        await Client.PutNetworkInterfaceAsync(new NetworkInterface { IfaceId = "eth0", HostDevName = "tap0", GuestMac = "06:00:AC:10:00:02" });

        Assert.Contains("guest_mac", await RefusedAsync(() => Client.PutNetworkInterfaceAsync(new NetworkInterface { IfaceId = "eth1", HostDevName = "tap1", GuestMac = "06:00:AC" })));
        Assert.Contains("host_dev_name", await RefusedAsync(() => Client.PutNetworkInterfaceAsync(new NetworkInterface { IfaceId = "eth1", HostDevName = "tap0" })));
        Assert.Contains("host_dev_name", await RefusedAsync(() => Client.PutNetworkInterfaceAsync(new NetworkInterface { IfaceId = "eth2", HostDevName = "a-name-far-too-long-for-linux" })));
        Assert.Contains("mtu", await RefusedAsync(() => Client.PutNetworkInterfaceAsync(new NetworkInterface { IfaceId = "eth3", HostDevName = "tap3", Mtu = 20 })));
        Assert.Contains("host_dev_name", await RawRefusedAsync(HttpMethod.Put, "/network-interfaces/eth4", "{\"iface_id\": \"eth4\"}"));
        var config = await Client.GetVmConfigAsync();
        Assert.Equal("tap0", Assert.Single(config.NetworkInterfaces!).HostDevName);
    }

    [Fact]
    public async Task Instance_start_with_vsock_starts_the_device_and_its_socket_listens()
    {
        string socketPath = Path.Combine(host.Directory, "v.sock");
        await Client.PutBootSourceAsync(new BootSource { KernelImagePath = Kernel() });
        await Client.PutVsockAsync(new Vsock { GuestCid = 3, UdsPath = socketPath });

        await Client.StartInstanceAsync();

        Assert.True(File.Exists(socketPath));
        using var client = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
        client.Connect(new System.Net.Sockets.UnixDomainSocketEndPoint(socketPath));
    }

    [Fact]
    public async Task Put_vsock_refuses_reserved_context_ids()
    {
        Assert.Contains("guest_cid: 2 is out of range", await RefusedAsync(() => Client.PutVsockAsync(new Vsock { GuestCid = 2, UdsPath = "/tmp/v.sock" })));
        Assert.Contains("guest_cid", await RawRefusedAsync(HttpMethod.Put, "/vsock", "{\"uds_path\": \"/tmp/v.sock\"}"));
    }

    [Fact]
    public async Task Put_entropy_is_accepted_and_read_back_but_a_rate_limit_is_refused()
    {
        await Client.PutEntropyAsync(new EntropyDevice());

        Assert.NotNull((await Client.GetVmConfigAsync()).Entropy);
        Assert.Contains("rate_limiter", await RefusedAsync(() => Client.PutEntropyAsync(new EntropyDevice { RateLimiter = new RateLimiter { Ops = new TokenBucket { Size = 10, RefillTime = 100 } } })));
        Assert.Contains("must not be negative", await RefusedAsync(() => Client.PutEntropyAsync(new EntropyDevice { RateLimiter = new RateLimiter { Bandwidth = new TokenBucket { Size = -1, RefillTime = 1 } } })));
    }

    [Fact]
    public async Task Put_logger_writes_api_requests_to_its_file_at_the_level_asked()
    {
        string log = Path.Combine(host.Directory, "vmm.log");

        await Client.PutLoggerAsync(new Logger { LogPath = log, Level = "info", ShowLevel = true });
        await Client.GetMachineConfigAsync();

        string text = await File.ReadAllTextAsync(log);
        Assert.Contains("[test-vm:api:INFO] The API server received a GET request on \"/machine-config\".", text);
        Assert.Contains("level: 'loud'", await RefusedAsync(() => Client.PutLoggerAsync(new Logger { Level = "loud" })));
        Assert.Contains("log_path", await RefusedAsync(() => Client.PutLoggerAsync(new Logger { LogPath = "/nonexistent/dir/vmm.log" })));
    }

    [Fact]
    public async Task Put_metrics_then_flush_writes_one_json_line_and_a_second_put_is_refused()
    {
        string metrics = Path.Combine(host.Directory, "metrics.json");
        Assert.Contains("metrics are not configured", await RefusedAsync(() => Client.FlushMetricsAsync()));

        await Client.PutMetricsAsync(new Metrics { MetricsPath = metrics });
        await Client.FlushMetricsAsync();

        var line = System.Text.Json.JsonDocument.Parse(Assert.Single(await File.ReadAllLinesAsync(metrics))).RootElement;
        Assert.True(line.GetProperty("api_server").GetProperty("requests").GetInt64() >= 2);
        Assert.Equal(1, line.GetProperty("api_server").GetProperty("failed_requests").GetInt64());
        Assert.Equal(0, line.GetProperty("vcpu").GetProperty("exit_io_out").GetInt64());
        Assert.Contains("already configured", await RefusedAsync(() => Client.PutMetricsAsync(new Metrics { MetricsPath = metrics })));
    }

    [Fact]
    public async Task Put_serial_sends_the_guest_console_to_a_file()
    {
        string serial = Path.Combine(host.Directory, "serial.out");
        await Client.PutSerialAsync(new SerialDevice { SerialOutPath = serial });

        Assert.Contains("rate limiting", await RefusedAsync(() => Client.PutSerialAsync(new SerialDevice { RateLimiter = new TokenBucket { Size = 1, RefillTime = 1 } })));
        Assert.Contains("serial_out_path", await RefusedAsync(() => Client.PutSerialAsync(new SerialDevice { SerialOutPath = "/nonexistent/dir/serial.out" })));
    }

    [Theory]
    [InlineData("PUT", "/balloon")]
    [InlineData("GET", "/balloon/statistics")]
    [InlineData("PUT", "/mmds")]
    [InlineData("PUT", "/mmds/config")]
    [InlineData("PATCH", "/hotplug/memory")]
    [InlineData("PUT", "/pmem/pmem0")]
    [InlineData("PUT", "/cpu-config")]
    public async Task Endpoints_vessel_lacks_answer_400_saying_they_are_not_supported(string method, string path)
    {
        string fault = await RawRefusedAsync(new HttpMethod(method), path, "{}");

        Assert.Contains("is not supported by Vessel yet", fault, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("GET", "/nothing-here")]
    [InlineData("DELETE", "/boot-source")]
    [InlineData("GET", "/drives/rootfs/extra")]
    [InlineData("POST", "/actions")]
    public async Task Unknown_paths_and_methods_answer_400_naming_them(string method, string path)
    {
        string fault = await RawRefusedAsync(new HttpMethod(method), path, null);

        Assert.Contains($"Invalid request method and/or path: {method} {path}", fault, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_oversized_body_is_a_400_and_the_server_keeps_serving()
    {
        string huge = "{\"kernel_image_path\": \"" + new string('x', 60_000) + "\"}";

        string fault = await RawRefusedAsync(HttpMethod.Put, "/boot-source", huge);

        Assert.Contains("larger than", fault, StringComparison.Ordinal);
        Assert.Equal("Not started", (await Client.GetInstanceInfoAsync()).State);
    }

    [Theory]
    [InlineData("{\"action_type\": \"Reboot\"}", "'Reboot' is not an action")]
    [InlineData("{\"action_type\": \"SendCtrlAltDel\"}", "before starting")]
    [InlineData("{\"action_type\": \"InstanceStart\"}", "PUT /boot-source")]
    [InlineData("{}", "action_type")]
    public async Task Actions_that_cannot_run_before_start_are_refused(string body, string expected)
    {
        Assert.Contains(expected, await RawRefusedAsync(HttpMethod.Put, "/actions", body), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pausing_before_start_is_refused()
    {
        Assert.Contains("before starting", await RefusedAsync(() => Client.PauseAsync()));
        Assert.Contains("'Frozen' is not a VM state", await RawRefusedAsync(HttpMethod.Patch, "/vm", "{\"state\": \"Frozen\"}"));
    }
}
