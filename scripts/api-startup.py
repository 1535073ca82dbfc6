#!/usr/bin/env python3
"""Measures the API server's start-up and a boot through it (docs/performance.md has the results).

For each run: the time from starting `vessel run --api-sock` to the socket answering GET / (wall clock, and the
process's CPU time from /proc at that moment), then the time from PUT /actions InstanceStart to the guest's first
serial line (Debian's vmlinux from ~/.cache/vessel/debian-cloud on the software CPU). Prints each run and the medians.
Usage: [BOOT_ARGS=...] scripts/api-startup.py [RUNS] [path/to/vessel]
"""
import http.client, json, os, socket, statistics, subprocess, sys, tempfile, time

runs = int(sys.argv[1]) if len(sys.argv) > 1 else 7
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
vessel = sys.argv[2] if len(sys.argv) > 2 else os.path.join(root, "src/Vessel.Cli/bin/Release/net10.0/vessel")
images = os.path.expanduser("~/.cache/vessel/debian-cloud")
ticks = os.sysconf("SC_CLK_TCK")
boot_args = os.environ.get("BOOT_ARGS", "console=ttyS0 reboot=k panic=1")


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost")
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)


def request(sock, method, path, body=None):
    connection = UnixConnection(sock)
    connection.request(method, path, body=json.dumps(body) if body is not None else None,
                       headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response.status, data


def cpu_ms(pid):
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / ticks


listen_ms, listen_cpu_ms, boot_ms = [], [], []
for run in range(runs):
    with tempfile.TemporaryDirectory() as scratch:
        sock = os.path.join(scratch, "api.sock")
        start = time.perf_counter()
        process = subprocess.Popen([vessel, "run", "--api-sock", sock, "--accel", "software"],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        while True:
            try:
                status, _ = request(sock, "GET", "/")
                if status == 200:
                    break
            except (FileNotFoundError, ConnectionRefusedError):
                time.sleep(0.0005)
        listened = (time.perf_counter() - start) * 1000
        cpu = cpu_ms(process.pid)
        request(sock, "PUT", "/boot-source", {"kernel_image_path": f"{images}/vmlinux",
                                              "initrd_path": f"{images}/initramfs.cpio.gz",
                                              "boot_args": boot_args})
        request(sock, "PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 256})
        started = time.perf_counter()
        status, body = request(sock, "PUT", "/actions", {"action_type": "InstanceStart"})
        assert status == 204, body
        process.stdout.readline()
        first_line = (time.perf_counter() - started) * 1000
        process.terminate()
        process.wait()
        listen_ms.append(listened)
        listen_cpu_ms.append(cpu)
        boot_ms.append(first_line)
        print(f"run {run + 1}: socket answers after {listened:.1f} ms ({cpu:.0f} ms CPU); "
              f"InstanceStart to first serial line {first_line:.1f} ms", flush=True)

print(f"median of {runs}: socket answers after {statistics.median(listen_ms):.1f} ms "
      f"({statistics.median(listen_cpu_ms):.0f} ms CPU); InstanceStart to first serial line {statistics.median(boot_ms):.1f} ms")
