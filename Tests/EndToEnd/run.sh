#!/usr/bin/env bash
# Runs every Tests/EndToEnd/test_*.sh (or the ones named on the command line), each under a
# time limit, and ends with exactly one summary line: "e2e: N passed, M failed".
#
# Needs root and network namespaces. Without them it says so and fails: a privileged test that
# silently passes when it cannot run would hide exactly the failures it exists to catch.
#
# Environment: LAB_BIN_DIR (binaries; default: swift build --show-bin-path),
#              E2E_TIMEOUT (seconds per test, default 300), LAB_KEEP=1 (keep each lab's dir),
#              E2E_NOT_RUN_REASON (fail the preflight with this reason; used by test.sh).
# Pending tests (named in Tests/EndToEnd/pending.txt, one a line, or in E2E_PENDING) cover what
# is not built yet: they run and are reported, but a failure is "pending", not counted;
# E2E_SKIP_PENDING=1 does not run them.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
timeout_s=${E2E_TIMEOUT:-300}

if (($#)); then
    tests=()
    for name in "$@"; do
        name=${name##*/}
        name=${name#test_}
        tests+=("$here/test_${name%.sh}.sh")
    done
else
    tests=("$here"/test_*.sh)
fi

passed=0 failed=0
failures=()
pending=()
pending_names=" ${E2E_PENDING:-} $(sed 's/#.*//' "$here/pending.txt" 2>/dev/null | tr '\n' ' ') "

# The preflight counts as one check, so a machine that cannot run the tests never reports
# "0 failed".
# shellcheck source=../../Scripts/lab-lib.sh
source "$repo/Scripts/lab-lib.sh"
preflight_problem=""
if [[ -n ${E2E_NOT_RUN_REASON:-} ]]; then
    # Set by Scripts/test.sh when the build failed: stale binaries must not be tested.
    preflight_problem=$E2E_NOT_RUN_REASON
elif ! lab_require_root; then
    preflight_problem="needs root and 'ip netns add'"
elif ! lab_require_tools; then
    preflight_problem="missing tools"
fi
if [[ -z $preflight_problem && -z ${LAB_BIN_DIR:-} ]]; then
    LAB_BIN_DIR=$(cd "$repo" && swift build --show-bin-path 2>/dev/null) || true
fi
if [[ -z $preflight_problem ]]; then
    for bin in tcpcopy intercept; do
        if [[ ! -x ${LAB_BIN_DIR:-}/$bin ]]; then
            preflight_problem="no $bin binary in '${LAB_BIN_DIR:-}' (run swift build first)"
            break
        fi
    done
fi
if [[ -n $preflight_problem ]]; then
    echo "e2e: preflight FAILED: $preflight_problem; ${#tests[@]} tests not run, counted as failed"
    echo "e2e: 0 passed, $((${#tests[@]} + 1)) failed"
    exit 1
fi
export LAB_BIN_DIR
# Namespaces of this run are tce2e-<tag>-<test>-...; the tag keeps concurrent runs apart.
export E2E_RUN_TAG=${E2E_RUN_TAG:-$$}
echo "e2e: preflight ok (root, namespaces, tools; binaries in $LAB_BIN_DIR)"
passed=$((passed + 1))

# A lab a test left behind (it was killed past its own trap) is removed here, and the test
# counts as failed even if its checks had passed: leftovers would break the next run.
sweep() {
    local prefix=$1 ns left=""
    for ns in $(ip netns list | awk '{print $1}'); do
        [[ $ns == "$prefix"* ]] || continue
        left+=" $ns"
        local pids
        pids=$(ip netns pids "$ns" 2>/dev/null || true)
        # shellcheck disable=SC2086  # one pid per word
        [[ -z $pids ]] || kill -KILL $pids 2>/dev/null || true
        sleep 0.2
        ip netns del "$ns" 2>/dev/null || true
    done
    if [[ -n $left ]]; then
        echo "e2e: removed namespaces left behind:$left"
        return 1
    fi
}

# run_test TEST NAME: one test under its time limit, its output prefixed with its name.
# --foreground keeps timeout in our process group; on expiry it sends SIGTERM to the test, whose
# own trap tears its lab down; -k 30 kills it if that cleanup hangs.
run_test() {
    timeout --foreground -k 30 "$timeout_s" bash "$1" 2>&1 | sed -u "s/^/  [$2] /"
    return "${PIPESTATUS[0]}"
}

# On SIGINT/SIGTERM, ask the running test to stop (SIGTERM to its timeout, which passes it on),
# let its trap clean up, then report. The test runs in the background so that this trap runs
# at once instead of after the test.
interrupted=0 current=""
on_signal() {
    interrupted=1
    local t
    if [[ -n $current ]]; then
        t=$(pgrep -P "$current" -x timeout || true)
        [[ -z $t ]] || kill -TERM "$t" 2>/dev/null || true
    fi
}
trap on_signal INT TERM

for test in "${tests[@]}"; do
    ((interrupted == 0)) || break
    name=$(basename "$test" .sh)
    name=${name#test_}
    if [[ ! -f $test ]]; then
        echo "e2e: FAIL $name: no such test ($test)"
        failed=$((failed + 1))
        failures+=("$name")
        continue
    fi
    is_pending=0
    [[ $pending_names != *" $name "* ]] || is_pending=1
    if ((is_pending)) && [[ ${E2E_SKIP_PENDING:-0} == 1 ]]; then
        echo "e2e: SKIP $name (pending)"
        pending+=("$name")
        continue
    fi
    echo "e2e: ---- $name ----"
    start=$SECONDS
    run_test "$test" "$name" &
    current=$!
    rc=0
    wait "$current" || rc=$?
    # A trapped signal interrupts wait; keep waiting (the test is cleaning up) until it is reaped.
    while kill -0 "$current" 2>/dev/null; do
        rc=0
        wait "$current" || rc=$?
    done
    current=""
    ((rc != 124)) || echo "e2e: $name timed out after ${timeout_s}s"
    sweep "tce2e-$E2E_RUN_TAG-$name-" || rc=1
    if ((rc == 0)); then
        echo "e2e: PASS $name ($((SECONDS - start))s)"
        ((is_pending == 0)) || echo "e2e: $name passes: remove it from Tests/EndToEnd/pending.txt"
        passed=$((passed + 1))
    elif ((is_pending)); then
        echo "e2e: PENDING $name ($((SECONDS - start))s, exit $rc; not counted)"
        pending+=("$name")
    else
        echo "e2e: FAIL $name ($((SECONDS - start))s, exit $rc)"
        failed=$((failed + 1))
        failures+=("$name")
    fi
done

if ((interrupted)); then
    not_run=$((${#tests[@]} + 1 - passed - failed - ${#pending[@]}))
    echo "e2e: interrupted; $not_run tests not run, counted as failed"
    failed=$((failed + not_run))
fi
((failed == 0)) || echo "e2e: failed: ${failures[*]}"
((${#pending[@]} == 0)) || echo "e2e: pending, not counted: ${pending[*]}"
echo "e2e: $passed passed, $failed failed"
((failed == 0))
