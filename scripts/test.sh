#!/usr/bin/env bash
# Runs every Vessel test. Installs what the tests need on a fresh Debian machine first (when run as root):
# linux-libc-dev, whose <linux/kvm.h> the KVM layout tests compile a probe against with gcc; and, where a Linux guest
# can run (a usable /dev/kvm that is not PVM), the Debian guest images for tests/Vessel.Guests.Tests (about 28 MB
# from the Debian archive, once; cached under ~/.cache/vessel). VESSEL_GUEST_IMAGES=1 fetches them anyway, =0 never.
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

guest_images="${VESSEL_GUEST_IMAGES:-auto}"
if [ "$guest_images" = auto ]; then
  guest_images=0
  if [ -r /dev/kvm ] && [ -w /dev/kvm ] && [ ! -d /sys/module/kvm_pvm ]; then
    guest_images=1
  fi
fi
if [ "$guest_images" = 1 ]; then
  bash scripts/guest-images.sh >/dev/null || echo "test.sh: fetching the guest images failed; the Linux guest tests will be skipped" >&2
else
  echo "test.sh: no KVM that can boot Linux here, so the Debian guest images are not fetched (VESSEL_GUEST_IMAGES=1 to fetch them)" >&2
fi

dotnet build Vessel.slnx -c Release --nologo -v quiet -clp:ErrorsOnly
dotnet test Vessel.slnx -c Release --no-build --nologo -v quiet "$@"
