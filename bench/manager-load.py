#!/usr/bin/env python3
"""Load test of `vessel serve`: N small VMs created (in parallel), listed, stopped and removed, round after round for a
bounded time; prints the creation rate, what an idle VM costs (CPU and memory of its VMM process), and the daemon's
file descriptors, memory, threads and child processes before, after the first round and at the end, so that a leak
shows as growth between the last two.

  usage: bench/manager-load.py [--vms 20] [--duration 120] [--idle-window 10] [--dll .vessel-build/cli/vessel.dll]

The guest is a bare-metal ELF that prints a line on COM1 and then idles (STI; HLT, woken only by the firmware-state
PIT tick), on the software CPU. The default vessel.dll is the Release build ./vessel makes (run ./vessel --help once).
Only the standard library: the daemon's API is spoken over its Unix socket with http.client."""
import argparse
import concurrent.futures
import http.client
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=300):
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.socket_path)


def call(sock, method, path, body=None):
    connection = UnixConnection(sock)
    headers = {"Content-Type": "application/json"} if body is not None else {}
    connection.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
    response = connection.getresponse()
    data = response.read()
    connection.close()
    if response.status >= 300:
        raise RuntimeError(f"{method} {path}: {response.status} {data.decode(errors='replace')}")
    if response.getheader("Content-Type", "").startswith("application/json") and data:
        return json.loads(data)
    return data


def write_guest(path):
    """An ELF64 at 1 MiB: prints 'vessel guest ready' on COM1, LIDT of 256 gates to one handler (EOI, IRETQ), STI; HLT loop."""
    load, handler, idtr, idt = 0x100000, 0x100100, 0x100200, 0x101000
    image = bytearray(0x2000)
    code = bytearray([0x66, 0xBA, 0xF8, 0x03])  # mov dx, 0x3F8
    for c in b"vessel guest ready\n":
        code += bytes([0xB0, c, 0xEE])  # mov al, c; out dx, al
    code += bytes([0x0F, 0x01, 0x1C, 0x25]) + struct.pack("<I", idtr) + bytes([0xFB, 0xF4, 0xEB, 0xFD])
    assert len(code) < 0x100
    image[0:len(code)] = code
    image[0x100:0x108] = bytes([0x50, 0xB0, 0x20, 0xE6, 0x20, 0x58, 0x48, 0xCF])
    image[0x200:0x20A] = struct.pack("<HQ", 0xFFF, idt)
    gate = struct.pack("<HHBBHII", handler & 0xFFFF, 0x10, 0, 0x8E, (handler >> 16) & 0xFFFF, handler >> 32, 0)
    image[0x1000:0x2000] = gate * 256
    header = struct.pack("<16sHHIQQQIHHHHHH", b"\x7fELF\x02\x01\x01" + b"\0" * 9, 2, 62, 1, load, 64, 0, 0, 64, 56, 1, 0, 0, 0)
    segment = struct.pack("<IIQQQQQQ", 1, 7, 0x1000, load, load, len(image), len(image), 0x1000)
    prefix = header + segment
    with open(path, "wb") as f:
        f.write(prefix + b"\0" * (0x1000 - len(prefix)) + bytes(image))


def process_stats(pid):
    status = open(f"/proc/{pid}/status").read()
    children = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if re.search(r"^PPid:\s+%d$" % pid, open(f"/proc/{entry}/status").read(), re.M):
                    children += 1
            except OSError:
                pass
    return {
        "fds": len(os.listdir(f"/proc/{pid}/fd")),
        "rss_mib": int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024,
        "threads": int(re.search(r"Threads:\s+(\d+)", status).group(1)),
        "children": children,
    }


def cpu_ticks(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def describe(label, stats):
    return f"{label:<22} fds {stats['fds']:4d}  rss {stats['rss_mib']:7.1f} MiB  threads {stats['threads']:3d}  child processes {stats['children']:3d}"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vms", type=int, default=20)
    parser.add_argument("--duration", type=float, default=120, help="seconds of rounds (a round started is finished)")
    parser.add_argument("--idle-window", type=float, default=10, help="seconds over which idle VMs' CPU is measured (first round)")
    parser.add_argument("--dll", default=os.path.join(ROOT, ".vessel-build", "cli", "vessel.dll"))
    args = parser.parse_args()
    if not os.path.exists(args.dll):
        sys.exit(f"manager-load.py: {args.dll} is missing; run ./vessel --help once to build it")

    work = tempfile.mkdtemp(prefix="vessel-load-")
    sock, state, guest = os.path.join(work, "vessel.sock"), os.path.join(work, "state"), os.path.join(work, "idle.elf")
    write_guest(guest)
    config = {"boot-source": {"kernel_image_path": guest, "boot_args": ""}, "machine-config": {"vcpu_count": 1, "mem_size_mib": 16}}
    daemon = subprocess.Popen(["dotnet", args.dll, "serve", "--socket", sock, "--state-dir", state, "--accel", "software"],
                              stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "daemon.log"), "w"))
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=args.vms)
    names = [f"load{i:02d}" for i in range(args.vms)]
    try:
        deadline = time.monotonic() + 60
        while not os.path.exists(sock):
            if daemon.poll() is not None or time.monotonic() > deadline:
                sys.exit("manager-load.py: the daemon did not start; see " + os.path.join(work, "daemon.log"))
            time.sleep(0.05)
        time.sleep(0.2)
        call(sock, "GET", "/v1/vms")
        print(f"host: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start")
        print(describe("daemon at start", process_stats(daemon.pid)))

        rounds, create_rates, list_ms, stop_s, after_first, rss_series = 0, [], [], [], None, []
        end = time.monotonic() + args.duration
        while rounds == 0 or time.monotonic() < end:
            started = time.monotonic()
            vms = list(pool.map(lambda name: call(sock, "POST", "/v1/vms", {"name": name, "config": config}), names))
            created = time.monotonic() - started
            create_rates.append(args.vms / created)
            for name in names:
                while b"vessel guest ready" not in call(sock, "GET", f"/v1/vms/{name}/logs"):
                    time.sleep(0.05)
            listed_at = time.monotonic()
            listed = call(sock, "GET", "/v1/vms")
            list_ms.append((time.monotonic() - listed_at) * 1000)
            assert [vm["state"] for vm in listed] == ["Running"] * args.vms, listed
            if rounds == 0:
                pids = [vm["pid"] for vm in vms]
                time.sleep(3)  # the VMMs' start-up (JIT, building the machine) is not idle time
                before = sum(cpu_ticks(pid) for pid in pids)
                time.sleep(args.idle_window)
                used = (sum(cpu_ticks(pid) for pid in pids) - before) / os.sysconf("SC_CLK_TCK")
                rss = sum(process_stats(pid)["rss_mib"] for pid in pids)
                print(f"round 1: {args.vms} VMs created in {created:.2f} s ({args.vms / created:.1f} VMs/s, each answered once its VMM reported the machine running)")
                print(f"idle VM: {100 * used / args.idle_window / args.vms:.2f}% of one core and {rss / args.vms:.1f} MiB RSS per VMM process "
                      f"(16 MiB guest; {args.vms} VMs, {args.idle_window:.0f} s window)")
            stopping = time.monotonic()
            list(pool.map(lambda name: call(sock, "POST", f"/v1/vms/{name}/stop", {"force": True}), names))
            stop_s.append(time.monotonic() - stopping)
            list(pool.map(lambda name: call(sock, "DELETE", f"/v1/vms/{name}"), names))
            rounds += 1
            rss_series.append(process_stats(daemon.pid)["rss_mib"])
            if rounds == 1:
                after_first = process_stats(daemon.pid)

        time.sleep(2)
        final = process_stats(daemon.pid)
        leftovers = [p for p in os.listdir("/proc") if p.isdigit() and int(p) != daemon.pid and _cmdline_mentions(p, state + "/")]
        print(f"{rounds} rounds of {args.vms} VMs in {args.duration:.0f} s: create {min(create_rates):.1f}-{max(create_rates):.1f} VMs/s, "
              f"list {sorted(list_ms)[len(list_ms) // 2]:.1f} ms (median), stop all {sorted(stop_s)[len(stop_s) // 2]:.2f} s (median)")
        print(describe("daemon after round 1", after_first))
        print(describe(f"daemon after round {rounds}", final))
        marks = sorted({0, len(rss_series) // 4, len(rss_series) // 2, 3 * len(rss_series) // 4, len(rss_series) - 1})
        print("daemon rss by round: " + ", ".join(f"{i + 1}: {rss_series[i]:.0f} MiB" for i in marks))
        print(f"VMM processes left: {len(leftovers)}; load average {os.getloadavg()[0]:.1f} at the end")
        return 1 if leftovers or final["children"] else 0
    finally:
        daemon.terminate()
        daemon.wait()
        pool.shutdown()
        shutil.rmtree(work, ignore_errors=True)


def _cmdline_mentions(pid, text):
    try:
        return text.encode() in open(f"/proc/{pid}/cmdline", "rb").read()
    except OSError:
        return False


if __name__ == "__main__":
    sys.exit(main())
