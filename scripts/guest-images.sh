#!/usr/bin/env bash
# Builds the guest images Vessel's demo and end-to-end tests boot: Debian's cloud kernel (a bzImage) and a busybox initramfs.
#
#   scripts/guest-images.sh [--refresh] [--print-dir]
#
# Everything comes from the Debian archive through apt (linux-image-cloud-amd64 and busybox-static) and is cached under
# ${XDG_CACHE_HOME:-~/.cache}/vessel/debian-cloud; later runs reuse the cache. --refresh rebuilds it, --print-dir prints
# the cache directory and exits 0 when the images are complete there (1 when not) without fetching anything.
#
# The cache holds:
#   vmlinuz                  the kernel (bzImage) of the current linux-image-*-cloud-amd64 package
#   vmlinux                  the same kernel uncompressed (an ELF64, cut out of the bzImage as the kernel's own
#                            scripts/extract-vmlinux does), for hosts where the guest's own decompression is slow
#   initramfs.cpio.gz        busybox, an /init that mounts proc/sys/devtmpfs and starts a shell on the console, and the
#                            kernel's virtio modules under /lib/modules/<version> (for later virtio devices; not loaded)
#   busybox                  the static busybox binary
#   modules/                 the same virtio modules, uncompressed, with modules.load (dependency order) and modules.deps
#   images.env               KERNEL_VERSION, KERNEL_PACKAGE, BUSYBOX_VERSION, and the file names above
#
# Needs Debian (apt-get, dpkg-deb); as root it installs cpio, xz-utils, zstd and lz4 when missing and runs apt-get update when
# the package lists are empty.
set -euo pipefail

refresh=0
print_dir=0
for argument in "$@"; do
  case "$argument" in
    --refresh) refresh=1 ;;
    --print-dir) print_dir=1 ;;
    -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "guest-images.sh: unknown argument '$argument' (try --help)" >&2; exit 2 ;;
  esac
done

cache="${XDG_CACHE_HOME:-$HOME/.cache}/vessel/debian-cloud"
say() { echo "guest-images: $*" >&2; }

complete() {
  [ -s "$cache/vmlinuz" ] && [ -s "$cache/vmlinux" ] && [ -s "$cache/initramfs.cpio.gz" ] && [ -s "$cache/images.env" ]
}

if [ "$print_dir" = 1 ]; then
  echo "$cache"
  complete
  exit
fi

if [ "$refresh" = 0 ] && complete; then
  # shellcheck disable=SC1091
  . "$cache/images.env"
  say "cached: kernel $KERNEL_VERSION ($KERNEL_PACKAGE), busybox $BUSYBOX_VERSION in $cache"
  echo "$cache"
  exit 0
fi

for tool in apt-get apt-cache dpkg-deb; do
  if ! command -v "$tool" >/dev/null; then
    say "$tool is missing: this script needs a Debian (or derived) host with apt and dpkg."
    exit 1
  fi
done

missing=()
command -v cpio >/dev/null || missing+=(cpio)
command -v gzip >/dev/null || missing+=(gzip)
command -v xz >/dev/null || missing+=(xz-utils)
command -v zstd >/dev/null || missing+=(zstd)
command -v lz4 >/dev/null || missing+=(lz4)

is_root=0
[ "$(id -u)" = 0 ] && is_root=1

# The package lists are empty on a fresh container: apt-cache then knows no linux-image-cloud-amd64.
if ! apt-cache show linux-image-cloud-amd64 >/dev/null 2>&1 || [ "${#missing[@]}" -gt 0 ]; then
  if [ "$is_root" = 0 ]; then
    if [ "${#missing[@]}" -gt 0 ]; then
      say "missing tools: ${missing[*]}; run as root (or apt-get install ${missing[*]})."
    else
      say "apt does not know linux-image-cloud-amd64; run 'apt-get update' as root first."
    fi
    exit 1
  fi
  say "apt-get update"
  apt-get update -qq >/dev/null
fi

if [ "${#missing[@]}" -gt 0 ]; then
  say "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# linux-image-cloud-amd64 is a meta package; the kernel lives in the versioned package it depends on.
kernel_package="$(apt-cache depends linux-image-cloud-amd64 | awk '/Depends: linux-image-[0-9].*-cloud-amd64/ { print $2; exit }')"
if [ -z "$kernel_package" ]; then
  say "could not resolve linux-image-cloud-amd64 to a versioned kernel package (apt-cache depends printed no linux-image-*-cloud-amd64)."
  exit 1
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# apt-get download drops root privileges to _apt where it can; a world-writable directory keeps that sandbox working.
chmod 0777 "$work"
mkdir -p "$work/debs"
chmod 0777 "$work/debs"
say "downloading $kernel_package and busybox-static"
(cd "$work/debs" && apt-get download -q "$kernel_package" busybox-static 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2 || true)
kernel_deb="$(ls "$work/debs/${kernel_package}"_*.deb 2>/dev/null | head -n1)"
busybox_deb="$(ls "$work"/debs/busybox-static_*.deb 2>/dev/null | head -n1)"
if [ -z "$kernel_deb" ] || [ -z "$busybox_deb" ]; then
  say "apt-get download did not produce both packages (in $work/debs: $(ls "$work/debs" | tr '\n' ' '))."
  exit 1
fi

dpkg-deb -x "$kernel_deb" "$work/kernel"
dpkg-deb -x "$busybox_deb" "$work/busybox"
kernel_version="$(ls "$work/kernel/lib/modules" | head -n1)"
busybox_version="$(dpkg-deb -f "$busybox_deb" Version)"
vmlinuz="$work/kernel/boot/vmlinuz-$kernel_version"
if [ ! -s "$vmlinuz" ]; then
  say "$kernel_package has no boot/vmlinuz-$kernel_version."
  exit 1
fi

# The bzImage's payload (boot.rst: payload_offset at 0x248 and payload_length at 0x24c, counted from the protected-mode
# code, which starts after the (setup_sects + 1) * 512 bytes of real-mode setup) is the compressed vmlinux.
header_byte() { od -An -tu1 -j "$2" -N1 "$1" | tr -d ' '; }
header_dword() { od -An -tu4 -j "$2" -N4 "$1" | tr -d ' '; }
setup_sectors="$(header_byte "$vmlinuz" $((0x1f1)))"
[ "$setup_sectors" = 0 ] && setup_sectors=4
payload_start=$(( (setup_sectors + 1) * 512 + $(header_dword "$vmlinuz" $((0x248))) ))
payload_length="$(header_dword "$vmlinuz" $((0x24c)))"
payload_magic="$(od -An -tx1 -j "$payload_start" -N4 "$vmlinuz" | tr -d ' ')"
case "$payload_magic" in
  1f8b*) decompress=(gzip -dc) ;;
  fd377a58) decompress=(xz -dc --single-stream) ;;
  28b52ffd) decompress=(zstd -dcq) ;;
  02214c18) decompress=(lz4 -dc) ;;
  *) say "the kernel's payload starts with bytes $payload_magic, a compression this script does not know."; exit 1 ;;
esac
mkdir -p "$work/out"
tail -c +$((payload_start + 1)) "$vmlinuz" | head -c "$payload_length" | "${decompress[@]}" >"$work/out/vmlinux" 2>/dev/null || true
if [ "$(head -c 4 "$work/out/vmlinux" | od -An -tx1 | tr -d ' ')" != 7f454c46 ]; then
  say "decompressing the kernel's payload (${decompress[*]}) did not give an ELF file."
  exit 1
fi

# The virtio drivers Vessel's devices will need, with every module they depend on (read from each module's .modinfo).
module_root="$work/kernel/lib/modules/$kernel_version"
modules_out="$work/out/modules"
mkdir -p "$modules_out"
declare -A module_path=()
while IFS= read -r -d '' file; do
  name="$(basename "$file")"
  name="${name%%.ko*}"
  module_path["${name//-/_}"]="$file"
done < <(find "$module_root/kernel" -name '*.ko*' -print0)

decompress_module() {
  case "$1" in
    *.ko.xz) xz -dc "$1" ;;
    *.ko.zst) zstd -dcq "$1" ;;
    *.ko.gz) gzip -dc "$1" ;;
    *) cat "$1" ;;
  esac
}

declare -A visited=()
load_order=()
add_module() {
  local name="${1//-/_}"
  [ -n "${visited[$name]:-}" ] && return 0
  visited[$name]=1
  local file="${module_path[$name]:-}"
  if [ -z "$file" ]; then
    # Built into this kernel (modules.builtin) or absent: nothing to ship.
    return 0
  fi
  local base
  base="$(basename "$file")"
  base="${base%%.ko*}.ko"
  decompress_module "$file" >"$modules_out/$base"
  local depends
  depends="$(tr '\0' '\n' <"$modules_out/$base" | sed -n 's/^depends=//p' | head -n1)"
  local dependency
  for dependency in ${depends//,/ }; do
    add_module "$dependency"
  done
  load_order+=("$base")
  echo "${base%.ko}: ${depends//,/ }" >>"$modules_out/modules.deps"
}
: >"$modules_out/modules.deps"
for wanted in virtio_pci virtio_blk virtio_net virtio_console virtio_rng virtio_balloon virtio_scsi virtio_input virtio_mmio; do
  add_module "$wanted"
done
printf '%s\n' "${load_order[@]}" >"$modules_out/modules.load"

# The initramfs: busybox, its applets as symlinks made at boot, and an /init that prints a marker Vessel's tests wait for.
root="$work/initramfs"
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,run,root,"lib/modules/$kernel_version"}
cp "$work/busybox/bin/busybox" "$root/bin/busybox"
cp "$modules_out"/*.ko "$modules_out/modules.load" "$modules_out/modules.deps" "$root/lib/modules/$kernel_version/"
cat >"$root/init" <<'INIT'
#!/bin/busybox sh
# Vessel's guest init: mount the kernel's filesystems, make busybox's applets, say we are up, hand over to busybox init.
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev
/bin/busybox mkdir -p /dev/pts
/bin/busybox mount -t devpts devpts /dev/pts
/bin/busybox --install -s
exec </dev/console >/dev/console 2>&1
hostname vessel
echo "vessel-guest: userspace up (kernel $(uname -r), $(nproc) CPU(s), $(sed -n 's/^MemTotal: *//p' /proc/meminfo))"
exec /sbin/init
INIT
chmod 0755 "$root/init"
# busybox init gives the shell its controlling terminal (cttyhack opens the real console behind /dev/console) and turns the
# shell's poweroff and reboot into an orderly shutdown ending in reboot(2), which Vessel sees as ACPI S5 or a reset.
cat >"$root/etc/inittab" <<'INITTAB'
::respawn:/bin/cttyhack /bin/sh -l
::ctrlaltdel:/sbin/reboot
::shutdown:/bin/sync
INITTAB
cat >"$root/etc/profile" <<'PROFILE'
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
export PS1='vessel:\w# '
PROFILE
echo "root:x:0:0:root:/root:/bin/sh" >"$root/etc/passwd"
echo "root:x:0:" >"$root/etc/group"
ln -s /bin/busybox "$root/sbin/init"
(cd "$root" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --owner=0:0 --quiet | gzip -9n) >"$work/out/initramfs.cpio.gz"

cp "$vmlinuz" "$work/out/vmlinuz"
cp "$work/busybox/bin/busybox" "$work/out/busybox"
cat >"$work/out/images.env" <<ENV
KERNEL_VERSION=$kernel_version
KERNEL_PACKAGE=$kernel_package
BUSYBOX_VERSION=$busybox_version
KERNEL=vmlinuz
VMLINUX=vmlinux
INITRD=initramfs.cpio.gz
BUSYBOX=busybox
ENV

mkdir -p "$(dirname "$cache")"
rm -rf "$cache.new"
mv "$work/out" "$cache.new"
rm -rf "$cache"
mv "$cache.new" "$cache"
say "fetched $kernel_package (kernel $kernel_version, $(du -h "$cache/vmlinuz" | cut -f1)) and busybox-static $busybox_version"
say "built $cache/initramfs.cpio.gz ($(du -h "$cache/initramfs.cpio.gz" | cut -f1)) with ${#load_order[@]} virtio modules: ${load_order[*]}"
echo "$cache"
