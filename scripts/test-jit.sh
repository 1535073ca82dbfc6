#!/usr/bin/env bash
# Runs the CPU test suite with the compiling tier forced on every block (VESSEL_JIT=always, threshold 0), as a CI step
# beside scripts/test.sh, which runs it with the default tier. Extra arguments go to dotnet test (e.g. --filter ...).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
dotnet build tests/Vessel.X86.Tests -c Release --nologo -v quiet -clp:ErrorsOnly
VESSEL_JIT=always dotnet test tests/Vessel.X86.Tests -c Release --no-build --nologo -v quiet "$@"
