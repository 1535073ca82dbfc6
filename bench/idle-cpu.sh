#!/usr/bin/env bash
# Measures what idle VMs cost the host: starts N `vessel run` processes of a guest that halts with interrupts on (STI;
# HLT in a loop, so only the firmware-state PIT's 18.2 Hz tick wakes it), lets them settle, then reads their CPU time
# (utime + stime from /proc) over a window and prints the average share of one core per VM and in all.
#   usage: bench/idle-cpu.sh N [window-seconds] [path/to/vessel.dll]
# The default vessel.dll is the one ./vessel builds (.vessel-build/cli/vessel.dll). A Release build, as everything timed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
count="${1:?usage: bench/idle-cpu.sh N [window-seconds] [vessel.dll]}"
window="${2:-20}"
dll="${3:-$root/.vessel-build/cli/vessel.dll}"
[ -f "$dll" ] || { echo "idle-cpu.sh: $dll is missing; run ./vessel --help once to build it" >&2; exit 1; }

work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# An ELF64 loaded at 1 MiB: LIDT of 256 gates to one handler (EOI to the PIC, IRETQ), STI, then HLT in a loop. The
# boot GDT's code selector is 0x10; the firmware-state PIT delivers IRQ 0 through the PIC at vector 8.
python3 - "$work/idle.elf" <<'PY'
import struct, sys
load, handler, idtr, idt = 0x100000, 0x100100, 0x100200, 0x101000
image = bytearray(0x2000)
code = bytes([0x0F, 0x01, 0x1C, 0x25]) + struct.pack('<I', idtr) + bytes([0xFB, 0xF4, 0xEB, 0xFD])
image[0:len(code)] = code
image[0x100:0x108] = bytes([0x50, 0xB0, 0x20, 0xE6, 0x20, 0x58, 0x48, 0xCF])
image[0x200:0x20A] = struct.pack('<HQ', 0xFFF, idt)
gate = struct.pack('<HHBBHII', handler & 0xFFFF, 0x10, 0, 0x8E, (handler >> 16) & 0xFFFF, handler >> 32, 0)
image[0x1000:0x2000] = gate * 256
header = struct.pack('<16sHHIQQQIHHHHHH', b'\x7fELF\x02\x01\x01' + b'\0' * 9, 2, 62, 1, load, 64, 0, 0, 64, 56, 1, 0, 0, 0)
segment = struct.pack('<IIQQQQQQ', 1, 7, 0x1000, load, load, len(image), len(image), 0x1000)
prefix = header + segment
open(sys.argv[1], 'wb').write(prefix + b'\0' * (0x1000 - len(prefix)) + bytes(image))
PY

for _ in $(seq "$count"); do
  dotnet "$dll" run --kernel "$work/idle.elf" --accel software --memory 16M </dev/null >/dev/null 2>&1 &
  pids+=("$!")
done

ticks() {
  local total=0 pid fields
  for pid in "${pids[@]}"; do
    read -r -a fields < <(sed 's/^.*) //' "/proc/$pid/stat")
    total=$((total + fields[11] + fields[12]))
  done
  echo "$total"
}

# Startup (JIT, building the machine) is not idle time: let every VM reach its HLT loop first.
sleep $((5 + count * 2))
before="$(ticks)"
sleep "$window"
after="$(ticks)"
hz="$(getconf CLK_TCK)"
awk -v d="$((after - before))" -v hz="$hz" -v w="$window" -v n="$count" \
  'BEGIN { total = 100 * d / hz / w; printf "%d idle VM(s): %.2f%% of one core in all, %.3f%% per VM (%d ticks over %d s)\n", n, total, total / n, d, w }'
