#!/usr/bin/env bash
# rules.sh apply|remove|show NETNS [PORT] [QUEUE]
#
# Adds or removes the target's NFQUEUE rule (iptables/intercept.rules) inside the network
# namespace NETNS, and nothing else. It refuses to run without a namespace name: the lab never
# changes the root namespace's firewall.
#
# Uses iptables-legacy(-restore) when installed, because intercept reads the tables through
# libiptc, which only sees the legacy tables; iptables (nft) otherwise. Set RULES_IPTABLES to
# iptables or iptables-legacy to choose.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
rules_dir="$here/../iptables"

usage() {
    echo "usage: $0 apply|remove|show NETNS [PORT(80)] [QUEUE(0)]" >&2
    exit 2
}

(($# >= 2)) || usage
action=$1 netns=$2 port=${3:-80} queue=${4:-0}

case $action in apply | remove | show) ;; *) usage ;; esac
if [[ -z $netns ]]; then
    echo "rules.sh: a namespace name is required; refusing to touch the root namespace" >&2
    exit 2
fi
if ! ip netns list | awk '{print $1}' | grep -qx -- "$netns"; then
    echo "rules.sh: no network namespace named '$netns' (ip netns list); refusing to run" >&2
    exit 2
fi
if ! [[ $port =~ ^[0-9]+$ ]] || ((port < 1 || port > 65535)); then
    echo "rules.sh: port must be 1-65535, got '$port'" >&2
    exit 2
fi
if ! [[ $queue =~ ^[0-9]+$ ]] || ((queue > 65535)); then
    echo "rules.sh: queue must be 0-65535, got '$queue'" >&2
    exit 2
fi

if [[ -n ${RULES_IPTABLES:-} ]]; then
    ipt=$RULES_IPTABLES
elif command -v iptables-legacy >/dev/null 2>&1; then
    ipt=iptables-legacy
else
    ipt=iptables
fi

in_ns() { ip netns exec "$netns" "$@"; }

# The rule file with its placeholders filled in.
render() {
    sed -e "s/@PORT@/$port/g" -e "s/@QUEUE@/$queue/g" "$rules_dir/$1"
}

# The rule's match and target, taken from the rule file itself so the check below cannot drift
# from what apply adds.
rule_spec() {
    render intercept.rules | awk '$1 == "-A" { $1 = ""; print; exit }'
}

rule_present() {
    local -a spec
    read -ra spec <<<"$(rule_spec)"
    # spec[0] is the chain, the rest the match and target; -C exits 1 when the rule is absent.
    in_ns "$ipt" -C "${spec[@]}" 2>/dev/null
}

case $action in
    apply)
        if rule_present; then
            echo "rules.sh: rule already present in $netns ($ipt), not adding it twice" >&2
        else
            render intercept.rules | in_ns "$ipt-restore" --noflush
        fi
        ;;
    remove)
        # Bounded: a rule added more than once by hand is removed up to 16 times.
        removed=0
        for ((i = 0; i < 16; i++)); do
            rule_present || break
            render intercept-remove.rules | in_ns "$ipt-restore" --noflush
            removed=$((removed + 1))
        done
        ((removed > 0)) || echo "rules.sh: no such rule in $netns ($ipt); nothing removed" >&2
        ;;
    show)
        echo "# $ipt, namespace $netns"
        in_ns "$ipt" -S OUTPUT
        # Both iptables back ends hook the same packets; show the other one too if it has rules.
        other=$([[ $ipt == iptables-legacy ]] && echo iptables || echo iptables-legacy)
        if command -v "$other" >/dev/null 2>&1; then
            extra=$(in_ns "$other" -S OUTPUT 2>/dev/null | grep -v '^-P' || true)
            if [[ -n $extra ]]; then
                echo "# $other, namespace $netns"
                echo "$extra"
            fi
        fi
        ;;
esac
