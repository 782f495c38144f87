#!/usr/bin/env bash
# rules.sh apply|remove|show|show6 NETNS [PORT] [QUEUE]
#
# Adds or removes the target's NFQUEUE rules (iptables/intercept.rules, and its IPv6 twin
# iptables/intercept6.rules through ip6tables) inside the network namespace NETNS, and nothing
# else. It refuses to run without a namespace name: the lab never
# changes the root namespace's firewall.
#
# Uses iptables-legacy(-restore) when installed, because intercept reads the tables through
# libiptc, which only sees the legacy tables; iptables (nft) otherwise. Set RULES_IPTABLES to
# iptables or iptables-legacy to choose (ip6tables follows: ip6tables-legacy or ip6tables).
# Without any ip6tables, only the IPv4 rule is handled.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
rules_dir="$here/../iptables"

usage() {
    echo "usage: $0 apply|remove|show|show6 NETNS [PORT(80)] [QUEUE(0)]" >&2
    exit 2
}

(($# >= 2)) || usage
action=$1 netns=$2 port=${3:-80} queue=${4:-0}

case $action in apply | remove | show | show6) ;; *) usage ;; esac
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

ip6t=${ipt/iptables/ip6tables}
command -v "$ip6t" >/dev/null 2>&1 || ip6t=""

in_ns() { ip netns exec "$netns" "$@"; }

# The rule file with its placeholders filled in.
render() {
    sed -e "s/@PORT@/$port/g" -e "s/@QUEUE@/$queue/g" "$rules_dir/$1"
}

# The rule's match and target, taken from the rule file itself so the check below cannot drift
# from what apply adds.
rule_spec() {
    render "${1:-intercept.rules}" | awk '$1 == "-A" { $1 = ""; print; exit }'
}

# rule_present [IPTABLES RULES_FILE]
rule_present() {
    local -a spec
    read -ra spec <<<"$(rule_spec "${2:-intercept.rules}")"
    # spec[0] is the chain, the rest the match and target; -C exits 1 when the rule is absent.
    in_ns "${1:-$ipt}" -C "${spec[@]}" 2>/dev/null
}

case $action in
    apply)
        if rule_present; then
            echo "rules.sh: rule already present in $netns ($ipt), not adding it twice" >&2
        else
            render intercept.rules | in_ns "$ipt-restore" --noflush
        fi
        if [[ -n $ip6t ]] && ! rule_present "$ip6t" intercept6.rules; then
            render intercept6.rules | in_ns "$ip6t-restore" --noflush
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
        for ((i = 0; i < 16; i++)); do
            [[ -n $ip6t ]] && rule_present "$ip6t" intercept6.rules || break
            render intercept6-remove.rules | in_ns "$ip6t-restore" --noflush
        done
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
    show6)
        # The IPv6 table apart, so that `show` reads as it always has.
        [[ -n $ip6t ]] || { echo "rules.sh: no ip6tables installed" >&2; exit 1; }
        echo "# $ip6t, namespace $netns"
        in_ns "$ip6t" -S OUTPUT
        ;;
esac
