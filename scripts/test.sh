#!/usr/bin/env bash
# Runs every Vessel test. Installs what the tests need on a fresh Debian machine first (when run as root):
# linux-libc-dev, whose <linux/kvm.h> the KVM layout tests compile a probe against with gcc; passt, the user-mode networking
# daemon the virtio-net guest tests start (--net user); and the Debian guest images
# for tests/Vessel.Guests.Tests (about 28 MB from the Debian archive, once; cached under ~/.cache/vessel), which boot on
# the software CPU anywhere and on KVM where it can run stock Linux. VESSEL_GUEST_IMAGES=0 skips the fetch.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

if [ ! -f /usr/include/linux/kvm.h ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "test.sh: installing linux-libc-dev for the KVM layout probe" >&2
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq linux-libc-dev >/dev/null
  else
    echo "test.sh: /usr/include/linux/kvm.h is missing; the KVM layout tests will be skipped (install linux-libc-dev)" >&2
  fi
fi

if ! command -v passt >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "test.sh: installing passt for the user-networking tests" >&2
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq passt >/dev/null
  else
    echo "test.sh: passt is missing; the user-networking guest tests will be skipped (install passt)" >&2
  fi
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
