#!/usr/bin/env bash
# Runs every Vessel test. Installs what the tests need on a fresh Debian machine first (when run as root): linux-libc-dev
# (<linux/kvm.h> for the KVM layout probe), qemu-utils (qemu-img, the qcow2 oracle), curl (the API's end-to-end tests
# follow Firecracker's getting-started guide with it), acpica-tools (iasl checks the generated DSDT), passt (user-mode
# networking for the virtio-net guest tests), npm and chromium (the manager dashboard's xterm.js and its browser tests),
# and the Debian guest images for tests/Vessel.Guests.Tests (about 28 MB from the Debian archive, once; cached under
# ~/.cache/vessel), which boot on the software CPU anywhere and on KVM where it can run stock Linux.
# VESSEL_GUEST_IMAGES=0 skips the fetch.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

# Installs a Debian package when the file or command a group of tests needs is missing (as root with apt-get);
# otherwise says which tests will be skipped. One apt-get update at most per run.
updated=0
require() {
  local present=$1 package=$2 purpose=$3
  if eval "$present"; then return; fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "test.sh: installing $package for $purpose" >&2
    if [ "$updated" = 0 ]; then apt-get update -qq >/dev/null || true; updated=1; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package" >/dev/null \
      || echo "test.sh: WARNING: installing $package failed; $purpose will be skipped" >&2
  else
    echo "test.sh: $package is missing; $purpose will be skipped (install $package)" >&2
  fi
}

require '[ -f /usr/include/linux/kvm.h ]' linux-libc-dev "the KVM layout probe"
require 'command -v qemu-img >/dev/null && command -v qemu-io >/dev/null' qemu-utils "the qcow2 interop and disk tests"
require 'command -v curl >/dev/null' curl "the API end-to-end tests"
require 'command -v iasl >/dev/null' acpica-tools "the DSDT disassembly test"

require 'command -v passt >/dev/null' passt "the user-networking guest tests"
require 'command -v npm >/dev/null' npm "the manager dashboard's xterm.js (npm ci from its package-lock.json)"
require '[ -x /usr/bin/chromium ]' chromium "the manager dashboard's browser tests (Playwright drives Debian's chromium)"

# The dashboard serves xterm.js from src/Vessel.Server/Dashboard/node_modules, installed exactly as package-lock.json
# names it (the build also runs this when node_modules is missing and npm is on the PATH).
if command -v npm >/dev/null && [ ! -f src/Vessel.Server/Dashboard/node_modules/@xterm/xterm/lib/xterm.js ]; then
  (cd src/Vessel.Server/Dashboard && npm ci --no-audit --no-fund >/dev/null) \
    || echo "test.sh: WARNING: npm ci failed; the dashboard's browser tests will be skipped" >&2
fi

if [ "${VESSEL_GUEST_IMAGES:-1}" != 0 ]; then
  if ! bash scripts/guest-images.sh >/dev/null; then
    echo "test.sh: WARNING: fetching the Debian guest images failed; the Linux guest tests will be skipped" >&2
  fi
fi

dotnet build Vessel.slnx -c Release --nologo -v quiet -clp:ErrorsOnly
# The console logger at minimal verbosity prints one summary line per test assembly when all pass, and for each failure
# its name, message and stack trace (msbuild's -v quiet would hide those and leave only the failing test's name).
dotnet test Vessel.slnx -c Release --no-build --nologo --logger "console;verbosity=minimal" "$@"
