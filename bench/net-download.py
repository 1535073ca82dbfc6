#!/usr/bin/env python3
"""Guest download benchmark: the Debian guest fetches SIZE MiB over user networking from an HTTP server on the host's
loopback (through the gateway 10.0.2.2), and over TAP from a server in a network namespace the script creates (root only),
timed in the guest, under Vessel's software CPU and QEMU TCG with the same kernel and initramfs, in one run.

usage: bench/net-download.py [--size-mib 64] [--guest-mtu 65520] [--only vessel,qemu-slirp,qemu-passt,vessel-tap,qemu-tap]
The guest MTU applies to the passt runs (what passt announces by DHCP under Vessel); slirp keeps 1500, its own limit.
needs: the cached guest images (scripts/guest-images.sh), passt, qemu-system-x86 (apt-get install passt qemu-system-x86).
"""
import argparse, http.server, os, re, select, shutil, subprocess, sys, tempfile, threading, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.path.expanduser("~/.cache/vessel/debian-cloud")
MODULES = "cd /lib/modules/$(uname -r) && for m in $(cat modules.load); do insmod ./$m 2>/dev/null; done; cd /"
USER_SETUP = [MODULES, "ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0 && ip route add default via 10.0.2.2"]
TAP_SETUP = [MODULES, "ip link set eth0 up && ip addr add 10.0.3.2/24 dev eth0"]


def serve(folder):
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=folder, **k)
    http.server.SimpleHTTPRequestHandler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class Console:
    def __init__(self, argv):
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.buf = b""

    def wait_for(self, token, timeout):
        end = time.time() + timeout
        while time.time() < end:
            if token in self.buf:
                i = self.buf.index(token) + len(token)
                out, self.buf = self.buf[:i], self.buf[i:]
                return out.decode("utf-8", "replace")
            r, _, _ = select.select([self.p.stdout], [], [], 1)
            if r:
                data = os.read(self.p.stdout.fileno(), 65536)
                if not data:
                    break
                self.buf += data
        raise TimeoutError(f"no {token!r} within {timeout} s; last output: {self.buf[-2000:].decode('utf-8', 'replace')}")

    def run(self, command, timeout=900):
        marker = f"@@done{time.monotonic_ns()}"
        split = marker[:3] + "''" + marker[3:]
        self.p.stdin.write(f"{command}; echo {split}\n".encode())
        self.p.stdin.flush()
        # The echo of the typed line shows the marker split by quotes; only the command's own output joins it.
        return self.wait_for(marker.encode(), timeout)

    def close(self):
        try:
            self.p.stdin.write(b"poweroff\n")
            self.p.stdin.flush()
            self.p.wait(120)
        except Exception:
            self.p.kill()
            self.p.wait()


def with_mtu(setup, mtu):
    return [setup[0], f"ip link set eth0 mtu {mtu} && " + setup[1]]


def measure(name, argv, url, size_mib, cleanup=None, setup=USER_SETUP, after_boot=None):
    console = Console(argv)
    try:
        console.wait_for(b"# ", 1800)
        if after_boot:
            after_boot()
        for step in setup:
            console.run(step)
        # busybox date has no %N; /proc/uptime counts in hundredths of a second.
        out = console.run(f"s=$(cut -d' ' -f1 /proc/uptime); wget -q -O /dev/null {url} && echo elapsed $s $(cut -d' ' -f1 /proc/uptime)")
        match = re.search(r"elapsed ([0-9.]+) ([0-9.]+)", out)
        if not match:
            raise RuntimeError(f"{name}: the download failed: {out[-1000:]}")
        seconds = float(match.group(2)) - float(match.group(1))
        print(f"{name:12s} {size_mib} MiB in {seconds:7.2f} s  ({size_mib / seconds:6.2f} MiB/s)", flush=True)
        return seconds
    finally:
        console.close()
        if cleanup:
            cleanup()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mib", type=int, default=64)
    parser.add_argument("--guest-mtu", type=int, default=65520)
    parser.add_argument("--only", default="vessel,qemu-slirp,qemu-passt")
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="vessel-net-bench-")
    with open(os.path.join(folder, "blob"), "wb") as f:
        f.write(os.urandom(args.size_mib << 20))
    server = serve(folder)
    url = f"http://10.0.2.2:{server.server_address[1]}/blob"
    kernel_elf, kernel_bz, initrd = (os.path.join(CACHE, n) for n in ("vmlinux", "vmlinuz", "initramfs.cpio.gz"))
    results = {}
    for which in args.only.split(","):
        if which == "vessel":
            argv = [os.path.join(ROOT, "vessel"), "run", "--accel", "software", "--kernel", kernel_elf, "--initrd", initrd,
                    "--memory", "256M", "--cmdline", "console=ttyS0", "--net", "user"]
            results[which] = measure("vessel", argv, url, args.size_mib, setup=with_mtu(USER_SETUP, args.guest_mtu))
        elif which.startswith("qemu"):
            qemu = ["qemu-system-x86_64", "-accel", "tcg", "-m", "256", "-nographic", "-no-reboot", "-kernel", kernel_bz,
                    "-initrd", initrd, "-append", "console=ttyS0", "-device", "virtio-net-pci,netdev=n0"]
            cleanup = None
            if which == "qemu-slirp":
                qemu += ["-netdev", "user,id=n0"]
            else:
                sock_dir = tempfile.mkdtemp(prefix="vessel-qemu-passt-")
                sock = os.path.join(sock_dir, "s")
                runas = ["--runas", "0"] if os.geteuid() == 0 else []
                passt = subprocess.Popen(["passt", "-f", "-1", "-q", "-s", sock, "-a", "10.0.2.15", "-n", "24", "-g", "10.0.2.2", "-m", "65520",
                                          "--dns-forward", "10.0.2.3", "-t", "none", "-u", "none"] + runas,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                while not os.path.exists(sock):
                    time.sleep(0.05)
                qemu += ["-netdev", f"stream,id=n0,server=off,addr.type=unix,addr.path={sock}"]
                cleanup = lambda: (passt.kill(), passt.wait(), shutil.rmtree(sock_dir, ignore_errors=True))
            setup = USER_SETUP if which == "qemu-slirp" else with_mtu(USER_SETUP, args.guest_mtu)
            results[which] = measure(which, qemu, url, args.size_mib, cleanup, setup)
        elif which.endswith("-tap"):
            # The VMM creates the TAP device in the host's namespace; once the guest is up (and before it touches eth0) the
            # device moves into a namespace of its own with the server, so nothing reaches the host's network.
            space, device = f"vessel-bench-{os.getpid()}", f"vbtap{os.getpid() % 100000}"
            subprocess.run(["ip", "netns", "add", space], check=True)
            server_box = []

            def attach():
                for command in (f"link set {device} netns {space}", f"-n {space} link set lo up",
                                f"-n {space} addr add 10.0.3.1/24 dev {device}", f"-n {space} link set {device} up"):
                    subprocess.run(["ip"] + command.split(), check=True)
                server_box.append(subprocess.Popen(["ip", "netns", "exec", space, sys.executable, "-m", "http.server", "8000",
                                                    "--bind", "10.0.3.1", "--directory", folder],
                                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
                time.sleep(2)

            def detach():
                for server_process in server_box:
                    server_process.kill()
                    server_process.wait()
                subprocess.run(["ip", "netns", "del", space])

            if which == "vessel-tap":
                argv = [os.path.join(ROOT, "vessel"), "run", "--accel", "software", "--kernel", kernel_elf, "--initrd", initrd,
                        "--memory", "256M", "--cmdline", "console=ttyS0", "--net", f"tap={device}"]
            else:
                argv = ["qemu-system-x86_64", "-accel", "tcg", "-m", "256", "-nographic", "-no-reboot", "-kernel", kernel_bz,
                        "-initrd", initrd, "-append", "console=ttyS0", "-device", "virtio-net-pci,netdev=n0",
                        "-netdev", f"tap,id=n0,ifname={device},script=no,downscript=no,vhost=off"]
            results[which] = measure(which, argv, "http://10.0.3.1:8000/blob", args.size_mib, detach, TAP_SETUP, attach)
    if "vessel-tap" in results and "qemu-tap" in results:
        print(f"vessel-tap / qemu-tap: {results['vessel-tap'] / results['qemu-tap']:.2f}x the time")
    if "vessel" in results:
        for other in ("qemu-slirp", "qemu-passt"):
            if other in results:
                print(f"vessel / {other}: {results['vessel'] / results[other]:.2f}x the time")
    server.shutdown()
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
