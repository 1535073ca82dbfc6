#!/usr/bin/env python3
"""Proves the guest images' disk path with QEMU as the oracle, before (and beside) Vessel's own virtio devices.

    scripts/qemu-disk-check.py [--bench] [--accel tcg|kvm] [--overlay-by qemu-img|vessel] [--keep DIR]

Boots the cached Debian kernel and initramfs (scripts/guest-images.sh) under qemu-system-x86_64 with root=/dev/vda on a
qcow2 overlay over rootfs.ext4, plus a raw disk holding a known pattern, a read-only raw disk, virtio-rng and a
virtconsole, and checks what Vessel's end-to-end disk tests check: the root switch, disk sizes, the pattern's sha256 read
in the guest, a guest write found at its offset in the raw file, a read-only disk refusing writes, the virtio PCI
functions, /dev/hwrng, /dev/hvc0, and a file that survives a reboot of the VM and then a power-off (read back from the
overlay on the host with qemu-img convert and debugfs). The base rootfs.ext4 must be unchanged and the overlay must pass
qemu-img check. --overlay-by vessel makes the overlay with Vessel's own qcow2 writer (./vessel disk create, the code the
demo uses) instead of qemu-img, so QEMU proves Vessel's overlays.

--bench adds a 128 MiB raw disk and times, inside the guest, a 64 MiB sequential write (dd oflag=direct conv=fsync) and
read (dd iflag=direct), three rounds each; the figures are what docs/performance.md compares Vessel's virtio-blk with.
Exits 0 when every check passes; prints each check as it goes.
"""
import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

MARKER = "vessel-guest: userspace up"

# The benchmark's guest commands (busybox dd; direct I/O so the guest's page cache is not what is measured).
WRITE_64M = "dd if=/dev/zero of=/dev/vdd bs=1M count=64 oflag=direct conv=fsync 2>/dev/null"
READ_64M = "dd if=/dev/vdd of=/dev/null bs=1M count=64 iflag=direct 2>/dev/null"
SECTOR = 512


class Guest:
    """QEMU with the guest's console on a pipe; commands go in typed, their output comes back between split markers."""

    live = []

    def __init__(self, argv, log_path):
        self.log = open(log_path, "a", encoding="utf-8", errors="replace")
        self.process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        Guest.live.append(self.process)
        self.text = ""
        self.lock = threading.Condition()
        self.number = 0
        self.consumed = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        while True:
            chunk = self.process.stdout.read1(4096)
            if not chunk:
                break
            decoded = chunk.decode("utf-8", errors="replace")
            self.log.write(decoded)
            self.log.flush()
            with self.lock:
                self.text += decoded
                self.lock.notify_all()
        with self.lock:
            self.lock.notify_all()

    def wait_for(self, needle, timeout, start=None):
        """Returns the index just past the first <needle> at or after <start>, or raises with the console's tail."""
        start = self.consumed if start is None else start
        deadline = time.monotonic() + timeout
        with self.lock:
            while True:
                found = self.text.find(needle, start)
                if found >= 0:
                    return found + len(needle)
                if self.process.poll() is not None:
                    raise RuntimeError(f"QEMU exited ({self.process.returncode}) before '{needle}'; console tail:\n{self.text[-2000:]}")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise RuntimeError(f"no '{needle}' within {timeout} s; console tail:\n{self.text[-2000:]}")
                self.lock.wait(min(remaining, 1.0))

    def boot(self, timeout):
        began = time.monotonic()
        self.consumed = self.wait_for(MARKER, timeout)
        self.consumed = self.wait_for("# ", timeout)
        self.run("dmesg -n 1")
        return time.monotonic() - began

    def run(self, command, timeout=300):
        self.number += 1
        begin, end = f"@@begin-{self.number}", f"@@end-{self.number}"
        self.process.stdin.write(f"echo '@@''begin-{self.number}'; {command}; echo '@@''end-{self.number}'\n".encode())
        self.process.stdin.flush()
        output_start = self.wait_for(begin + "\r\n", timeout)
        after_end = self.wait_for(end, timeout, output_start)
        self.consumed = after_end
        return self.text[output_start:after_end - len(end)].replace("\r\n", "\n").strip("\n")

    def type(self, line):
        self.process.stdin.write((line + "\n").encode())
        self.process.stdin.flush()

    def wait_exit(self, timeout):
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise RuntimeError(f"QEMU did not exit within {timeout} s; console tail:\n{self.text[-2000:]}")


failures = []


def check(name, condition, detail=""):
    print(f"  {'ok  ' if condition else 'FAIL'} {name}{(': ' + detail) if detail else ''}", flush=True)
    if not condition:
        failures.append(name)


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def pattern(length):
    """Each 512-byte sector holds its own number and a fixed text, so a misplaced sector changes the hash."""
    out = bytearray()
    for sector in range(length // SECTOR):
        line = f"vessel sector {sector:08d} ".encode()
        out += (line * (SECTOR // len(line) + 1))[:SECTOR]
    return bytes(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", action="store_true", help="also time 64 MiB sequential write and read inside the guest")
    parser.add_argument("--accel", default="tcg", choices=["tcg", "kvm"])
    parser.add_argument("--overlay-by", default="qemu-img", choices=["qemu-img", "vessel"], help="what makes the qcow2 overlay")
    parser.add_argument("--keep", help="keep the disks and console log in this directory")
    parser.add_argument("--timeout", type=int, default=600, help="seconds a boot may take (TCG on a loaded host is slow)")
    args = parser.parse_args()

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    cache = subprocess.run(["bash", os.path.join(root, "scripts/guest-images.sh"), "--print-dir"], capture_output=True, text=True)
    images = cache.stdout.strip()
    if cache.returncode != 0:
        sys.exit(f"qemu-disk-check: the guest images in {images} are incomplete; run scripts/guest-images.sh first.")
    for tool in ("qemu-system-x86_64", "qemu-img", "debugfs"):
        if shutil.which(tool) is None:
            sys.exit(f"qemu-disk-check: {tool} is missing; apt-get install qemu-system-x86 qemu-utils e2fsprogs.")

    work = args.keep or tempfile.mkdtemp(prefix="qemu-disk-check.")
    os.makedirs(work, exist_ok=True)
    log = os.path.join(work, "console.log")
    base = os.path.join(images, "rootfs.ext4")
    with open(base, "rb") as f:
        base_hash = sha256(f.read())

    overlay = os.path.join(work, "overlay.qcow2")
    if os.path.exists(overlay):
        os.remove(overlay)
    if args.overlay_by == "vessel":
        subprocess.run([os.path.join(root, "vessel"), "disk", "create", overlay, "--backing", base, "--backing-format", "raw"], check=True)
    else:
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", base, "-F", "raw", overlay], check=True)
    data = os.path.join(work, "data.raw")
    data_bytes = pattern(8 << 20)
    with open(data, "wb") as f:
        f.write(data_bytes)
    readonly = os.path.join(work, "readonly.raw")
    with open(readonly, "wb") as f:
        f.truncate(4 << 20)
    drives = [f"file={overlay},format=qcow2", f"file={data},format=raw", f"file={readonly},format=raw,readonly=on"]
    bench = os.path.join(work, "bench.raw")
    if args.bench:
        with open(bench, "wb") as f:
            f.truncate(128 << 20)
        drives.append(f"file={bench},format=raw,cache=none")

    def qemu():
        argv = ["qemu-system-x86_64", "-accel", args.accel, "-m", "512", "-smp", "1", "-display", "none", "-serial", "stdio",
                "-monitor", "none", "-kernel", os.path.join(images, "vmlinuz"), "-initrd", os.path.join(images, "initramfs.cpio.gz"),
                "-append", "console=ttyS0 panic=-1 root=/dev/vda", "-device", "virtio-rng-pci,disable-legacy=on",
                "-device", "virtio-serial-pci,disable-legacy=on", "-chardev", "null,id=hvc", "-device", "virtconsole,chardev=hvc"]
        # Modern-only functions (device IDs 0x1040 + virtio ID), the transport Vessel offers; QEMU's default is transitional.
        for number, drive in enumerate(drives):
            argv += ["-drive", f"{drive},if=none,id=disk{number}", "-device", f"virtio-blk-pci,drive=disk{number},disable-legacy=on"]
        return Guest(argv, log)

    print(f"qemu-disk-check: QEMU {args.accel}, images in {images}, overlay by {args.overlay_by}, work in {work}", flush=True)
    guest = qemu()
    seconds = guest.boot(args.timeout)
    print(f"boot 1: shell after {seconds:.1f} s", flush=True)
    check("the root file system is /dev/vda (ext4, rw)", re.search(r"^/dev/vda / ext4 rw", guest.run("cat /proc/mounts"), re.M) is not None)
    check("the hostname comes from the disk's /etc/hostname", guest.run("hostname") == "vessel")
    sizes = {name: guest.run(f"cat /sys/block/{name}/size") for name in ("vda", "vdb", "vdc")}
    check("vda has rootfs.ext4's size", sizes["vda"] == str(os.path.getsize(base) // SECTOR), sizes["vda"])
    check("vdb has the data disk's size", sizes["vdb"] == str(len(data_bytes) // SECTOR), sizes["vdb"])
    check("vdc has the read-only disk's size", sizes["vdc"] == str((4 << 20) // SECTOR), sizes["vdc"])
    got = guest.run(f"dd if=/dev/vdb bs=64k count={len(data_bytes) >> 16} 2>/dev/null | sha256sum")
    check("the guest reads the pattern the host wrote into vdb", got == sha256(data_bytes) + "  -", got)
    written_offset = 3 << 20
    guest.run(f"yes guest-wrote-this | head -c 65536 | dd of=/dev/vdb bs=4k seek={written_offset >> 12} conv=fsync 2>/dev/null")
    check("vdc is read-only in sysfs", guest.run("cat /sys/block/vdc/ro") == "1")
    refused = guest.run("dd if=/dev/zero of=/dev/vdc bs=4k count=1 conv=fsync 2>/dev/null && echo wrote || echo refused")
    check("a write to the read-only disk fails", refused == "refused", refused)
    functions = guest.run("for d in /sys/bus/pci/devices/*; do echo $(cat $d/vendor):$(cat $d/device); done")
    virtio = sorted(line for line in functions.split("\n") if line.startswith("0x1af4:"))
    expected = sorted(["0x1af4:0x1042"] * (len(drives)) + ["0x1af4:0x1043", "0x1af4:0x1044"])
    check("the virtio PCI functions are listed (modern blk per disk, console, rng)", virtio == expected, " ".join(virtio))
    rng = guest.run("head -c 32 /dev/hwrng | od -An -tx1 | tr -d ' \\n'")
    check("/dev/hwrng gives 32 bytes", re.fullmatch(r"[0-9a-f]{64}", rng) is not None, rng)
    check("/dev/hvc0 exists", guest.run("test -c /dev/hvc0 && echo yes") == "yes")
    modules = guest.run("lsmod")
    check("the initramfs loaded the virtio modules", all(m in modules for m in ("virtio_blk", "virtio_pci", "virtio_rng", "virtio_console")))

    if args.bench:
        print(f"bench: 64 MiB sequential on /dev/vdd (raw, cache=none):\n  {WRITE_64M}\n  {READ_64M}", flush=True)
        for round_number in range(1, 4):
            write = float(guest.run(f"time -p sh -c '{WRITE_64M}' 2>&1 | sed -n 's/^real //p'"))
            read = float(guest.run(f"time -p sh -c '{READ_64M}' 2>&1 | sed -n 's/^real //p'"))
            print(f"  round {round_number}: write {write:.2f} s ({64 / max(write, 0.01):.0f} MiB/s), "
                  f"read {read:.2f} s ({64 / max(read, 0.01):.0f} MiB/s)", flush=True)

    guest.run("echo survives-reboot > /root/persist.txt && sync")
    guest.type("reboot")
    guest.consumed = guest.wait_for("reboot: Restarting system", args.timeout)
    seconds = guest.boot(args.timeout)
    print(f"boot 2 (after the guest's reboot, same QEMU): shell after {seconds:.1f} s", flush=True)
    check("the file written before the reboot is there", guest.run("cat /root/persist.txt") == "survives-reboot")
    guest.run("echo survives-poweroff >> /root/persist.txt")
    guest.type("poweroff")
    status = guest.wait_exit(args.timeout)
    check("poweroff ends QEMU with status 0", status == 0, str(status))

    guest = qemu()
    guest.boot(args.timeout)
    check("after a power-off and a new QEMU, the file holds both lines",
          guest.run("cat /root/persist.txt") == "survives-reboot\nsurvives-poweroff")
    guest.type("poweroff")
    guest.wait_exit(args.timeout)

    with open(data, "rb") as f:
        f.seek(written_offset)
        found = f.read(65536)
    check("the guest's write to vdb is in data.raw at 3 MiB", found == (b"guest-wrote-this\n" * 4000)[:65536])
    with open(base, "rb") as f:
        check("rootfs.ext4 is unchanged (the overlay took every write)", sha256(f.read()) == base_hash)
    checked = subprocess.run(["qemu-img", "check", overlay], capture_output=True, text=True)
    check("qemu-img check finds the overlay clean", checked.returncode == 0, checked.stdout.strip().split("\n")[0])
    flat = os.path.join(work, "flattened.raw")
    subprocess.run(["qemu-img", "convert", "-O", "raw", overlay, flat], check=True)
    cat = subprocess.run(["debugfs", "-R", "cat /root/persist.txt", flat], capture_output=True, text=True)
    check("the overlay, flattened on the host, holds /root/persist.txt", cat.stdout == "survives-reboot\nsurvives-poweroff\n", cat.stdout.strip())
    os.remove(flat)

    if not args.keep:
        shutil.rmtree(work)
    print(f"qemu-disk-check: {'all checks passed' if not failures else str(len(failures)) + ' failed: ' + ', '.join(failures)}")
    return 1 if failures else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    finally:
        for process in Guest.live:
            if process.poll() is None:
                process.kill()
