#!/usr/bin/env bash
# Snapshot end to end and its numbers, on the software CPU with the cached Debian kernel and initramfs:
#   bench/snapshot.sh [MEM_MIB]        (default 256)
# A guest with 2 vCPUs and a 16 MiB data disk counts on its console once a second and writes each count to the disk at
# offset 9*count. The script pauses it and takes a full snapshot (vessel snapshot create --pause), kills the VMM with
# SIGKILL, restores the snapshot in a new process (vessel restore --resume) and checks that the guest goes on from the
# next count without rebooting. It then takes a diff snapshot of the restored guest after a few seconds of that light
# activity, kills it, and checks the disk holds every count from 1 on, in order (the first snapshot landed in the middle
# of the write loop). It prints one line of numbers per stage; docs/performance.md keeps them.
set -euo pipefail
mem_mib="${1:-256}"
root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
images="${XDG_CACHE_HOME:-$HOME/.cache}/vessel/debian-cloud"
work="$(mktemp -d /tmp/vessel-snapshot.XXXXXX)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  exec 3>&- 4>&- 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

fail() { echo "snapshot.sh: $*" >&2; for f in "$work"/*.log; do echo "--- $f" >&2; tail -20 "$f" >&2; done; exit 1; }

# wait_for FILE TEXT SECONDS: until FILE holds TEXT.
wait_for() {
  local deadline=$((SECONDS + $3))
  until grep -qF -- "$2" "$1" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || fail "'$2' did not appear in $(basename "$1") within $3 s"
    sleep 0.2
  done
}

"$root/vessel" --help >/dev/null  # builds the CLI in Release when needed, before anything is timed

truncate -s 16M "$work/data.img"
cat > "$work/vm.json" <<EOF
{
  "boot-source": { "kernel_image_path": "$images/vmlinuz", "initrd_path": "$images/initramfs.cpio.gz", "boot_args": "console=ttyS0 panic=-1" },
  "machine-config": { "vcpu_count": 2, "mem_size_mib": $mem_mib, "track_dirty_pages": true },
  "drives": [ { "drive_id": "data", "path_on_host": "$work/data.img", "is_root_device": false, "is_read_only": false } ]
}
EOF

mkfifo "$work/in1" "$work/in2"
"$root/vessel" run -v --accel software --api-sock "$work/api1.sock" --config-file "$work/vm.json" <"$work/in1" >"$work/console1.log" 2>"$work/vmm1.log" &
pids+=($!)
first=$!
exec 3>"$work/in1"
wait_for "$work/console1.log" "vessel-guest: userspace up" 300
sleep 2
echo 'i=0; while true; do i=$((i+1)); echo "count $i"; printf "%08d\n" $i | dd of=/dev/vda bs=9 seek=$i conv=notrunc 2>/dev/null; sync; sleep 1; done' >&3
wait_for "$work/console1.log" "count 5" 120

"$root/vessel" snapshot create --pause --api-sock "$work/api1.sock" --snapshot-path "$work/vm.snap" --mem-file-path "$work/vm.mem" >/dev/null
kill -9 "$first"
wait "$first" 2>/dev/null || true
last=$(grep -o 'count [0-9]*' "$work/console1.log" | tail -1 | cut -d' ' -f2)
created=$(grep -o 'created a Full snapshot in [0-9]* ms' "$work/vmm1.log" | grep -o '[0-9]* ms')
state_bytes=$(stat -c %s "$work/vm.snap")
mem_allocated=$(du -k "$work/vm.mem" | cut -f1)
echo "full snapshot: ${mem_mib} MiB guest, created in $created, state $state_bytes bytes, memory file $(stat -c %s "$work/vm.mem") bytes ($((mem_allocated / 1024)) MiB on disk, sparse), last count before it: $last"

"$root/vessel" restore -v --resume --track-dirty-pages --api-sock "$work/api2.sock" --snapshot-path "$work/vm.snap" --mem-file-path "$work/vm.mem" \
  <"$work/in2" >"$work/console2.log" 2>"$work/vmm2.log" &
pids+=($!)
second=$!
exec 4>"$work/in2"
wait_for "$work/console2.log" "count $((last + 1))" 60
restored=$(grep -o 'loaded the snapshot .* in [0-9.]* ms' "$work/vmm2.log" | grep -o '[0-9.]* ms')
if grep -q "Linux version" "$work/console2.log"; then fail "the restored guest booted again"; fi
first_after=$(grep -o 'count [0-9]*' "$work/console2.log" | head -1 | cut -d' ' -f2)
[ "$first_after" = $((last + 1)) ] || fail "the restored guest counted $first_after after $last"
phases=$(grep -o 'restore: snapshot read.*' "$work/vmm2.log" | sed 's/^restore: //')
echo "restore: in-process restore $restored ($phases); first count after it: $first_after"

wait_for "$work/console2.log" "count $((last + 4))" 60
"$root/vessel" snapshot create --pause --diff --api-sock "$work/api2.sock" --snapshot-path "$work/vm-diff.snap" --mem-file-path "$work/vm-diff.mem" >/dev/null
diff_line=$(grep -o 'created a Diff snapshot in [0-9]* ms: .* bytes of memory written' "$work/vmm2.log")
diff_ms=$(echo "$diff_line" | grep -o 'in [0-9]* ms' | grep -o '[0-9]*')
diff_bytes=$(echo "$diff_line" | grep -o '[0-9]* bytes of memory' | grep -o '[0-9]*')
echo "diff snapshot after ~3 s of the counting loop: created in $diff_ms ms, $diff_bytes bytes of memory ($((diff_bytes / 4096)) pages, $(du -k "$work/vm-diff.mem" | cut -f1) KiB on disk)"
kill -9 "$second"
wait "$second" 2>/dev/null || true

final=$(grep -o 'count [0-9]*' "$work/console2.log" | tail -1 | cut -d' ' -f2)
python3 - "$work/data.img" "$final" <<'PY'
import sys
data = open(sys.argv[1], 'rb').read()
final = int(sys.argv[2])
for i in range(1, final + 1):
    entry = data[9 * i:9 * i + 9]
    if entry != b'%08d\n' % i:
        # The last count may have been printed before its write reached the disk when the VMM was killed.
        if i == final:
            break
        sys.exit(f"snapshot.sh: the disk's entry {i} is {entry!r}")
print(f"disk: counts 1 to {final - 1} or {final} all on the disk, in order")
PY
