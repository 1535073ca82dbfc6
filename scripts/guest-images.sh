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
#   initramfs.cpio.gz        busybox, the kernel's virtio modules (and the virtio-vsock transport with its vsock core)
#                            under /lib/modules/<version> (with modules.dep), and an
#                            /init that mounts proc/sys/devtmpfs and loads the virtio modules; with root= on the kernel
#                            command line it mounts that device (ext4, rw) and switch_roots into its /sbin/init, otherwise
#                            (or when the device does not appear) it starts a shell on the console in the initramfs;
#                            with ip=dhcp, eth0 gets its address by DHCP first (udhcpc, /etc/udhcpc/default.script)
#   rootfs.ext4              a 256 MiB sparse raw ext4 image (label vessel-root) for root=/dev/vda: busybox with its applet
#                            links, /etc (inittab, rcS, fstab, hostname, passwd), the same modules; built without root
#                            privileges or loop mounts (mke2fs -d). Boot it through a qcow2 overlay to keep it pristine
#   busybox                  the static busybox binary
#   modules/                 the same virtio modules, uncompressed, with modules.load (dependency order) and modules.deps
#   debs/                    the kernel package the modules came from, so a later revision can take more modules from it
#   images.env               KERNEL_VERSION, KERNEL_PACKAGE, BUSYBOX_VERSION, REVISION, and the file names above
#
# REVISION counts changes to what the cache holds. An older cache is upgraded in place with the same kernel: the file
# systems are rebuilt from the cached kernel and busybox, and the modules are taken again from the cached kernel package
# (debs/; a cache from before debs/ existed downloads that one package, the same version, once).
#
# Needs Debian (apt-get, dpkg-deb); as root it installs cpio, xz-utils, zstd, lz4 and e2fsprogs when missing and runs
# apt-get update when the package lists are empty.
set -euo pipefail

refresh=0
print_dir=0
for argument in "$@"; do
  case "$argument" in
    --refresh) refresh=1 ;;
    --print-dir) print_dir=1 ;;
    -h|--help) sed -n '2,33p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "guest-images.sh: unknown argument '$argument' (try --help)" >&2; exit 2 ;;
  esac
done

cache="${XDG_CACHE_HOME:-$HOME/.cache}/vessel/debian-cloud"
say() { echo "guest-images: $*" >&2; }

# 1: rootfs.ext4; 2: the virtio-vsock modules (vsock, vmw_vsock_virtio_transport_common, vmw_vsock_virtio_transport);
# 3: ip=dhcp on the kernel command line brings eth0 up by DHCP (udhcpc with a default.script that applies the lease).
revision=3

# The downloaded part: kernel, busybox and modules. A cache holding only these predates rootfs.ext4 and is upgraded.
fetched() {
  [ -s "$cache/vmlinuz" ] && [ -s "$cache/vmlinux" ] && [ -s "$cache/busybox" ] && [ -s "$cache/modules/modules.load" ] \
    && [ -s "$cache/images.env" ]
}

complete() {
  fetched && [ -s "$cache/initramfs.cpio.gz" ] && [ -s "$cache/rootfs.ext4" ] && grep -qx "REVISION=$revision" "$cache/images.env"
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

# An old cache (kernel, busybox and modules of an earlier revision) is rebuilt around the same kernel. Its modules come
# again from the cached kernel package; only a cache from before debs/ existed must download that package (with apt).
upgrade=0
upgrade_needs_apt=0
if [ "$refresh" = 0 ] && fetched; then
  upgrade=1
  # shellcheck disable=SC1091
  cached_package="$(. "$cache/images.env"; echo "$KERNEL_PACKAGE")"
  if ! ls "$cache/debs/${cached_package}"_*.deb >/dev/null 2>&1; then
    upgrade_needs_apt=1
  fi
fi

if [ "$upgrade" = 0 ] || [ "$upgrade_needs_apt" = 1 ]; then
  for tool in apt-get apt-cache dpkg-deb; do
    if ! command -v "$tool" >/dev/null; then
      say "$tool is missing: this script needs a Debian (or derived) host with apt and dpkg."
      exit 1
    fi
  done
fi

missing=()
command -v cpio >/dev/null || missing+=(cpio)
command -v gzip >/dev/null || missing+=(gzip)
command -v mke2fs >/dev/null || missing+=(e2fsprogs)
command -v dpkg-deb >/dev/null || missing+=(dpkg)
# Modules are taken from the kernel package on every build, and Debian compresses them (xz or zstd).
command -v xz >/dev/null || missing+=(xz-utils)
command -v zstd >/dev/null || missing+=(zstd)
command -v lz4 >/dev/null || missing+=(lz4)

is_root=0
[ "$(id -u)" = 0 ] && is_root=1

# The package lists are empty on a fresh container: apt-cache then knows no linux-image-cloud-amd64.
if { [ "$upgrade" = 0 ] && ! apt-cache show linux-image-cloud-amd64 >/dev/null 2>&1; } \
  || { [ "$upgrade_needs_apt" = 1 ] && ! apt-cache show "$cached_package" >/dev/null 2>&1; } || [ "${#missing[@]}" -gt 0 ]; then
  if [ "$is_root" = 0 ]; then
    if [ "${#missing[@]}" -gt 0 ]; then
      say "missing tools: ${missing[*]}; run as root (or apt-get install ${missing[*]})."
    else
      say "apt does not know ${cached_package:-linux-image-cloud-amd64}; run 'apt-get update' as root first."
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

# mke2fs -d (populate from a directory, no loop mount and no root needed) arrived in e2fsprogs 1.43.
if [[ "$(mke2fs -h 2>&1 || true)" != *"-d root-directory"* ]]; then
  say "this mke2fs cannot populate an image from a directory (-d); install e2fsprogs 1.43 or later."
  exit 1
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# apt-get download drops root privileges to _apt where it can; a world-writable directory keeps that sandbox working.
chmod 0777 "$work"
mkdir -p "$work/out"

# Takes the virtio drivers Vessel's devices need, with every module they depend on (read from each module's .modinfo),
# from the kernel package unpacked in $work/kernel into $work/out/modules, with modules.load in dependency order.
extract_modules() {
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
  for wanted in virtio_pci virtio_blk virtio_net virtio_console virtio_rng virtio_balloon virtio_scsi virtio_input virtio_mmio \
    vmw_vsock_virtio_transport; do
    add_module "$wanted"
  done
  printf '%s\n' "${load_order[@]}" >"$modules_out/modules.load"
}

# Downloads the kernel and busybox packages and leaves vmlinuz, vmlinux, busybox and modules/ in $work/out.
fetch_kernel_and_busybox() {
  # linux-image-cloud-amd64 is a meta package; the kernel lives in the versioned package it depends on.
  kernel_package="$(apt-cache depends linux-image-cloud-amd64 | awk '/Depends: linux-image-[0-9].*-cloud-amd64/ { print $2; exit }')"
  if [ -z "$kernel_package" ]; then
    say "could not resolve linux-image-cloud-amd64 to a versioned kernel package (apt-cache depends printed no linux-image-*-cloud-amd64)."
    exit 1
  fi

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

  extract_modules
  mkdir -p "$work/out/debs"
  cp "$kernel_deb" "$work/out/debs/"
  cp "$vmlinuz" "$work/out/vmlinuz"
  cp "$work/busybox/bin/busybox" "$work/out/busybox"
}

if [ "$upgrade" = 1 ]; then
  # shellcheck disable=SC1091
  . "$cache/images.env"
  kernel_version="$KERNEL_VERSION"
  kernel_package="$KERNEL_PACKAGE"
  busybox_version="$BUSYBOX_VERSION"
  say "upgrading the cache in $cache to revision $revision: rebuilding the modules, initramfs and rootfs.ext4 around the cached kernel $kernel_version"
  cp -a "$cache/vmlinuz" "$cache/vmlinux" "$cache/busybox" "$work/out/"
  kernel_deb="$(ls "$cache/debs/${kernel_package}"_*.deb 2>/dev/null | head -n1 || true)"
  if [ -z "$kernel_deb" ]; then
    mkdir -p "$work/debs"
    chmod 0777 "$work/debs"
    say "downloading $kernel_package (the cached kernel's package, for its modules)"
    (cd "$work/debs" && apt-get download -q "$kernel_package" 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2 || true)
    kernel_deb="$(ls "$work/debs/${kernel_package}"_*.deb 2>/dev/null | head -n1 || true)"
    if [ -z "$kernel_deb" ]; then
      say "apt-get download $kernel_package failed (no longer in the archive?); run $0 --refresh to fetch the current kernel."
      exit 1
    fi
  fi
  dpkg-deb -x "$kernel_deb" "$work/kernel"
  if [ ! -d "$work/kernel/lib/modules/$kernel_version" ]; then
    say "$kernel_deb has no modules for $kernel_version; run $0 --refresh."
    exit 1
  fi
  extract_modules
  mkdir -p "$work/out/debs"
  cp "$kernel_deb" "$work/out/debs/"
else
  fetch_kernel_and_busybox
fi
modules_out="$work/out/modules"
mapfile -t load_order <"$modules_out/modules.load"
busybox="$work/out/busybox"

# What the initramfs and the root file system share: busybox, the virtio modules with the modules.dep that busybox's modprobe
# reads (made by busybox's own depmod, run here on the host), the shell's profile and root's account.
populate_common() {
  local target="$1"
  mkdir -p "$target"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,run,root,"lib/modules/$kernel_version"}
  cp "$busybox" "$target/bin/busybox"
  cp "$modules_out"/*.ko "$target/lib/modules/$kernel_version/"
  "$busybox" depmod -b "$target" "$kernel_version"
  cat >"$target/etc/profile" <<'PROFILE'
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
export PS1='vessel:\w# '
PROFILE
  # busybox udhcpc runs a script for each lease event (udhcpc(8)); Debian's busybox looks for it in /etc/udhcpc, upstream's
  # in /usr/share/udhcpc, and without one a lease sets nothing. Address and MTU, default route, DNS server, from the lease.
  mkdir -p "$target/etc/udhcpc" "$target/usr/share/udhcpc" "$target/etc/init.d"
  cat >"$target/etc/udhcpc/default.script" <<'DHCP'
#!/bin/sh
case "$1" in
  deconfig)
    ip link set "$interface" up
    ip -4 addr flush dev "$interface"
    ;;
  bound|renew)
    [ -n "$mtu" ] && ip link set "$interface" mtu "$mtu"
    ip -4 addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    for gateway in $router; do
      ip route replace default via "$gateway" dev "$interface"
      break
    done
    : >/etc/resolv.conf
    for server in $dns; do
      echo "nameserver $server" >>/etc/resolv.conf
    done
    ;;
esac
exit 0
DHCP
  chmod 0755 "$target/etc/udhcpc/default.script"
  ln -s /etc/udhcpc/default.script "$target/usr/share/udhcpc/default.script"
  # ip=dhcp on the kernel command line (the kernel's own spelling; this kernel has no IP autoconfiguration, so it passes
  # the word on): eth0 up by DHCP before the shell starts, so wget works at once. vessel demo adds it with a network.
  cat >"$target/etc/init.d/network" <<'NETWORK'
#!/bin/sh
grep -qw 'ip=dhcp' /proc/cmdline || exit 0
tries=30
while [ ! -e /sys/class/net/eth0 ] && [ "$tries" -gt 0 ]; do
  usleep 100000
  tries=$((tries - 1))
done
if [ ! -e /sys/class/net/eth0 ]; then
  echo "vessel-guest: ip=dhcp, but there is no eth0"
  exit 0
fi
ip link set lo up
ip link set eth0 up
if udhcpc -i eth0 -s /etc/udhcpc/default.script -O mtu -q -n -t 5 -T 2 >/tmp/udhcpc.log 2>&1; then
  echo "vessel-guest: eth0 $(ip -4 -o addr show eth0 | awk '{ print $4 }') by DHCP, gateway $(ip route | awk '/^default/ { print $3 }')"
else
  echo "vessel-guest: no DHCP lease on eth0 (udhcpc's messages are in /tmp/udhcpc.log)"
fi
NETWORK
  chmod 0755 "$target/etc/init.d/network"
  echo "root:x:0:0:root:/root:/bin/sh" >"$target/etc/passwd"
  echo "root:x:0:" >"$target/etc/group"
  echo vessel >"$target/etc/hostname"
}

# The initramfs: busybox (its applets made at boot), the virtio modules, and an /init that either hands over to a root
# file system named by root= or, without one, prints the marker Vessel's tests wait for and starts busybox init.
root="$work/initramfs"
populate_common "$root"
cat >"$root/init" <<'INIT'
#!/bin/busybox sh
# Vessel's guest init: mount the kernel's file systems, make busybox's applets, load the virtio drivers (modules in Debian's
# cloud kernel), then switch to the root file system that root= names, or stay in the initramfs when there is none.
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev
/bin/busybox mkdir -p /dev/pts
/bin/busybox mount -t devpts devpts /dev/pts
/bin/busybox --install -s
exec </dev/console >/dev/console 2>&1
hostname vessel

# A module this kernel lacks (or builds in) is no error: modprobe -q says nothing and the loop goes on.
for module in virtio_pci virtio_blk virtio_rng virtio_console virtio_net vmw_vsock_virtio_transport; do
  modprobe -q "$module" || true
done

root_device=
root_type=ext4
root_flags=
root_mode=rw
root_delay=10
root_init=/sbin/init
for argument in $(cat /proc/cmdline); do
  case "$argument" in
    root=*) root_device="${argument#root=}" ;;
    rootfstype=*) root_type="${argument#rootfstype=}" ;;
    rootflags=*) root_flags=",${argument#rootflags=}" ;;
    rootdelay=*) root_delay="${argument#rootdelay=}" ;;
    init=*) root_init="${argument#init=}" ;;
    ro) root_mode=ro ;;
    rw) root_mode=rw ;;
  esac
done

if [ -n "$root_device" ]; then
  # virtio-blk probes asynchronously after modprobe returns; devtmpfs makes the node once the disk is known.
  tries=$((root_delay * 10))
  while [ ! -b "$root_device" ] && [ "$tries" -gt 0 ]; do
    usleep 100000
    tries=$((tries - 1))
  done
  mkdir -p /newroot
  if [ ! -b "$root_device" ]; then
    echo "vessel-guest: root device $root_device did not appear within ${root_delay} s; staying in the initramfs"
  elif ! mount -t "$root_type" -o "$root_mode$root_flags" "$root_device" /newroot; then
    echo "vessel-guest: could not mount $root_device ($root_type, $root_mode$root_flags); staying in the initramfs"
  elif [ ! -e "/newroot$root_init" ] && [ ! -L "/newroot$root_init" ]; then
    echo "vessel-guest: $root_device has no $root_init; staying in the initramfs"
    umount /newroot
  else
    echo "vessel-guest: switching to the root file system on $root_device ($root_type, $root_mode)"
    # The kernel's file systems move with us; switch_root empties the initramfs and execs the new init as PID 1.
    mount --move /dev /newroot/dev
    mount --move /proc /newroot/proc
    mount --move /sys /newroot/sys
    exec switch_root /newroot "$root_init"
  fi
fi

/etc/init.d/network
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
ln -s /bin/busybox "$root/sbin/init"
(cd "$root" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --owner=0:0 --quiet | gzip -9n) >"$work/out/initramfs.cpio.gz"

# The root file system for root=/dev/vda: the same busybox and modules, applet links made here (the host runs the static
# busybox to list them), busybox init with an rcS that mounts what the initramfs did not hand over, and a shutdown that
# leaves the file system clean (remounted read-only after a sync) so what the user wrote survives a power-off.
rootfs="$work/rootfs"
populate_common "$rootfs"
mkdir -p "$rootfs/var" "$rootfs/mnt"
while IFS= read -r applet; do
  [ -e "$rootfs/$applet" ] || [ -L "$rootfs/$applet" ] || ln -s /bin/busybox "$rootfs/$applet"
done < <("$busybox" --list-full | grep -v '^linuxrc$')
cat >"$rootfs/etc/inittab" <<'INITTAB'
::sysinit:/etc/init.d/rcS
::respawn:/bin/cttyhack /bin/sh -l
::ctrlaltdel:/sbin/reboot
::shutdown:/bin/sync
::shutdown:/bin/umount -a -r
INITTAB
cat >"$rootfs/etc/init.d/rcS" <<'RCS'
#!/bin/sh
# busybox init's sysinit: the initramfs moved /dev, /proc and /sys here; mount whatever it did not.
mounted() { grep -q "^[^ ]* $1 " /proc/mounts 2>/dev/null; }
mounted /proc || mount -t proc proc /proc
mounted /sys || mount -t sysfs sysfs /sys
mounted /dev || mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts
mounted /dev/pts || mount -t devpts devpts /dev/pts
mounted /tmp || mount -t tmpfs -o mode=1777 tmpfs /tmp
hostname -F /etc/hostname
for module in virtio_pci virtio_blk virtio_rng virtio_console virtio_net vmw_vsock_virtio_transport; do
  modprobe -q "$module" || true
done
/etc/init.d/network
root_device="$(sed -n 's|^\([^ ]*\) / .*|\1|p' /proc/mounts | tail -n1)"
echo "vessel-guest: userspace up (kernel $(uname -r), $(nproc) CPU(s), $(sed -n 's/^MemTotal: *//p' /proc/meminfo), root $root_device)"
RCS
chmod 0755 "$rootfs/etc/init.d/rcS"
cat >"$rootfs/etc/fstab" <<'FSTAB'
/dev/vda  /         ext4    rw,relatime      0 1
proc      /proc     proc    defaults         0 0
sysfs     /sys      sysfs   defaults         0 0
devpts    /dev/pts  devpts  defaults         0 0
tmpfs     /tmp      tmpfs   mode=1777        0 0
FSTAB
cat >"$rootfs/etc/motd" <<'MOTD'
This shell's root file system is an ext4 disk (/dev/vda): what you write outside /tmp survives a reboot.
MOTD
echo 'cat /etc/motd' >>"$rootfs/etc/profile"
chmod 0700 "$rootfs/root"
chmod 1777 "$rootfs/tmp"
# A fixed UUID, so every cache's image is the same disk to the guest; root_owner gives / to root when run unprivileged.
mke2fs -q -F -t ext4 -L vessel-root -U 5e55e100-0000-4000-8000-000000000001 \
  -E root_owner=0:0,lazy_itable_init=0,lazy_journal_init=1 -d "$rootfs" "$work/out/rootfs.ext4" 256M >&2

cat >"$work/out/images.env" <<ENV
KERNEL_VERSION=$kernel_version
KERNEL_PACKAGE=$kernel_package
BUSYBOX_VERSION=$busybox_version
REVISION=$revision
KERNEL=vmlinuz
VMLINUX=vmlinux
INITRD=initramfs.cpio.gz
ROOTFS=rootfs.ext4
BUSYBOX=busybox
ENV

mkdir -p "$(dirname "$cache")"
rm -rf "$cache.new"
mv "$work/out" "$cache.new"
rm -rf "$cache"
mv "$cache.new" "$cache"
if [ "$upgrade" = 0 ]; then
  say "fetched $kernel_package (kernel $kernel_version, $(du -h "$cache/vmlinuz" | cut -f1)) and busybox-static $busybox_version"
fi
say "built $cache/initramfs.cpio.gz ($(du -h "$cache/initramfs.cpio.gz" | cut -f1)) with ${#load_order[@]} virtio modules: ${load_order[*]}"
say "built $cache/rootfs.ext4 ($(du -h --apparent-size "$cache/rootfs.ext4" | cut -f1) sparse, $(du -h "$cache/rootfs.ext4" | cut -f1) used)"
echo "$cache"
