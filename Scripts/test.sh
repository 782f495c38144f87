#!/usr/bin/env bash
# test.sh: the project's test command. As root it first installs the Debian packages it lacks
# (Scripts/packages.txt).
#   1. swift build            (both daemons, debug)
#   2. swift test             (unit tests; no privileges needed)
#   3. Scripts/fuzz.sh        (libFuzzer on the packet parser and control decoder: 60 s each
#                              when CI=true, FUZZ_SECONDS or 10 s each otherwise)
#   4. Tests/EndToEnd/run.sh  (the daemons in network namespaces; needs root)
# Every step runs even if an earlier one failed, so one run reports everything; the exit status
# is non-zero if any step failed. The last line printed is the end-to-end summary,
# "e2e: N passed, M failed".
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
status=0

# A fresh Debian 12 machine lacks the build's and the lab's packages: install them as root
# (Scripts/packages.txt, the list .ci/run uses too). Without root, what needs them fails below.
# shellcheck source=packages-lib.sh
source Scripts/packages-lib.sh
if ! packages_install_missing test.sh; then
    echo "test.sh: packages missing; the steps that need them will fail"
    status=1
fi
packages_swift_on_path || { echo "test.sh: no swift on PATH or in /opt/swift: install Swift 6 first" >&2; exit 1; }

echo "==== swift build"
if swift build; then
    bin_dir=$(swift build --show-bin-path)
    export LAB_BIN_DIR=$bin_dir
else
    echo "test.sh: swift build FAILED"
    status=1
    # The end-to-end tests must not run against binaries left over from an earlier build.
    export E2E_NOT_RUN_REASON="swift build failed"
fi

echo "==== swift test"
if ! swift test; then
    echo "test.sh: swift test FAILED"
    status=1
fi

echo "==== fuzzing"
fuzz_seconds=${FUZZ_SECONDS:-$([[ ${CI:-} == true ]] && echo 60 || echo 10)}
if ! Scripts/fuzz.sh "$fuzz_seconds"; then
    echo "test.sh: fuzzing FAILED (crash inputs in .fuzz/crashes/)"
    status=1
fi

echo "==== end-to-end tests"
Tests/EndToEnd/run.sh || status=1
exit "$status"
