#!/usr/bin/env bash
# packages-lib.sh: installs what a fresh Debian 12 machine lacks for the build, the lab and the
# tests: the packages in Scripts/packages.txt, and Swift's toolchain on PATH. Sourced by .ci/run,
# Scripts/lab.sh and Scripts/test.sh, so the three never disagree on the list.

packages_file="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/packages.txt"

# packages_list: the package names of packages.txt, comments and blank lines dropped.
packages_list() {
    sed -e 's/#.*//' -e 's/[[:space:]]//g' "$packages_file" | grep -v '^$'
}

# packages_missing: the listed packages dpkg does not have installed, one a line.
packages_missing() {
    local p
    for p in $(packages_list); do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"
    done
}

# packages_install_missing TAG: installs the missing packages with apt-get (needs root when any
# is missing; TAG prefixes its messages). Returns non-zero if they could not be installed.
packages_install_missing() {
    local tag=$1 missing attempt policy=/usr/sbin/policy-rc.d
    missing=$(packages_missing | tr '\n' ' ')
    [[ -n ${missing// /} ]] || return 0
    if ((EUID != 0)); then
        echo "$tag: missing packages: $missing(run as root to install them)" >&2
        return 1
    fi
    echo "$tag: installing $missing"
    (
        export DEBIAN_FRONTEND=noninteractive
        # nginx's and redis's packages would start servers in the root namespace on install;
        # the lab runs its own in namespaces only. policy-rc.d exiting 101 tells invoke-rc.d
        # not to start services.
        if [[ ! -e $policy ]]; then
            printf '#!/bin/sh\n# Written by Scripts/packages-lib.sh: no service starts during package installs.\nexit 101\n' \
                >"$policy"
            chmod 0755 "$policy"
            trap 'rm -f "$policy"' EXIT
        fi
        # Bounded retries: a mirror hiccup should not fail the run, a real outage should.
        for attempt in 1 2 3; do
            # shellcheck disable=SC2086 # one word per package
            if apt-get update -qq </dev/null &&
                apt-get install -y -qq --no-install-recommends $missing </dev/null; then
                exit 0
            fi
            ((attempt < 3)) || { echo "$tag: apt-get failed 3 times" >&2; exit 1; }
            sleep 10
        done
    )
}

# packages_swift_on_path: puts the toolchain in /opt/swift on PATH when swift is not there yet
# (where these machines keep it); returns non-zero when there is no swift at all.
packages_swift_on_path() {
    if ! command -v swift >/dev/null 2>&1 && [[ -x /opt/swift/usr/bin/swift ]]; then
        export PATH=/opt/swift/usr/bin:$PATH
    fi
    command -v swift >/dev/null 2>&1
}
