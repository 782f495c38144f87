#!/usr/bin/env bash
# Control-port peers that try to hog intercept (issue 27, item 5), with a real tcpcopy copying:
#   1. 64 peers that never finish their hello (one byte a second) hold every slot: each is
#      dropped 2 s after connecting, and a tcpcopy started meanwhile, told "too many
#      connections", retries and connects (13f11b9: bytes kept them alive, and tcpcopy exited
#      with "intercept refused this host (not allowed)");
#   2. a peer squatting on the keys a live tcpcopy is about to register: every registration is
#      refused and reported back to tcpcopy, which counts it (13f11b9: silently lost);
#   3. 2,000,000 registrations over 3 connections: routes stop at the per-connection cap
#      (3 x 131,072, under the total cap, so a real tcpcopy still finds room: a flood that fills
#      --max-routes starves the others, which only --secret-file prevents), the excess is
#      refused and answered, intercept's memory stays bounded, and copying goes on;
#   4. --secret-file on both daemons: a peer with the wrong secret is refused and logged, a
#      tcpcopy without the secret is refused with a clear message, the right one copies.
set -euo pipefail
# shellcheck source=../../Scripts/lab-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/lab-lib.sh"
# shellcheck source=hostile/safety-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/hostile/safety-lib.sh"
LAB_PREFIX=$(lab_test_prefix hostile_control_hogs)
port=$LAB_CONTROL_PORT
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$(lab_daemon_pid "$1")/status"; }

lab_init
lab_create
lab_nginx_start online
lab_nginx_start target
lab_rules_apply target 80 0
lab_intercept_start intercept

# 1. Every slot held by a peer that never completes its hello.
safety_py online control_hog.py slots "$LAB_TARGET_IP" "$port" --count 64 --seconds 8 >"$LAB_DIR/slots.out" &
hogs=$!
lab_retry 50 0.1 bash -c "(( \$(ip netns exec $(lab_ns target) ss -Htn state established '( sport = :$port )' | wc -l) >= 64 ))" ||
    lab_fail "the 64 slot-holders" "connected" "fewer"
lab_daemon_start tcpcopy online "$(lab_bin tcpcopy)" -x "80-$LAB_TARGET_IP:80" -t 10
safety_wait_log tcpcopy "connected to intercept" 10
lab_daemon_alive tcpcopy || lab_fail "tcpcopy started while intercept's slots were full" "running" "exited"
wait "$hogs" || true
slots=$(cat "$LAB_DIR/slots.out")
lab_log "$slots"
[[ $slots == *"dropped=64 "* ]] || lab_fail "slot-holders dropped" "dropped=64" "$slots"
first=$(sed -E 's/.*first_drop=([0-9.]+).*/\1/' <<<"$slots")
awk -v f="$first" 'BEGIN { exit !(f <= 3.0) }' || lab_fail "first slot-holder dropped after" "<= 3 s (2 s deadline, checked twice a second)" "$first s"
grep -q "control connections are open already" "$(lab_daemon_log intercept)" ||
    lab_fail "intercept's log" "a refusal for too many connections" "none"
sleep 0.5
safety_expect_fresh_copies 20 "after the slot-holders were dropped"

# 1b. Slots held by peers that complete the handshake (no secret to tell them apart): a second
# tcpcopy, told "too many connections" at every start-up attempt, starts anyway with the link
# down (sending nothing), and connects once a slot frees.
safety_py online control_hog.py holders "$LAB_TARGET_IP" "$port" --count 63 --seconds 12 >"$LAB_DIR/holders.out" &
holders=$!
lab_retry 80 0.1 grep -q "welcomed=63" "$LAB_DIR/holders.out" || lab_fail "63 handshaking slot-holders" "welcomed" "$(cat "$LAB_DIR/holders.out")"
lab_daemon_start tcpcopy2 online "$(lab_bin tcpcopy)" -x "80-$LAB_TARGET_IP:80" -t 10 -f 1
safety_wait_log tcpcopy2 "too many control connections; nothing is copied to it until a slot frees" 15
lab_daemon_alive tcpcopy2 || lab_fail "tcpcopy2 facing a full intercept" "running, retrying" "exited"
wait "$holders" || true
safety_wait_log tcpcopy2 "reconnected to intercept" 40
lab_expect_clean_stop tcpcopy2
lab_log "a tcpcopy facing 64 taken slots started with the link down and connected once they freed"

# 2. A squatter registers the keys of the next 20 connections first.
safety_py online control_hog.py squat "$LAB_TARGET_IP" "$port" --client "$LAB_CLIENT_IP" \
    --target "$LAB_TARGET_IP" --target-port 80 --ports 50000-50019 --seconds 15 >"$LAB_DIR/squat.out" &
squatter=$!
lab_retry 50 0.1 grep -q "registered=20" "$LAB_DIR/squat.out" || lab_fail "the squatter" "registered" "$(cat "$LAB_DIR/squat.out")"
sleep 0.5
for p in $(seq 50000 50019); do
    lab_exec client curl -s -o /dev/null --max-time 3 --local-port "$p" "http://$LAB_ONLINE_IP/" || true
done
sleep 1
safety_stats tcpcopy
owned=$(safety_stat tcpcopy registrations_refused_owned)
lab_log "squatting: tcpcopy counted registrations_refused_owned=$owned of 20 squatted keys"
((owned == 20)) || lab_fail "tcpcopy's registrations_refused_owned" 20 "$owned"
safety_wait_log tcpcopy "intercept refused the registration of .*another control connection owns it" 2
kill "$squatter" 2>/dev/null || true
wait "$squatter" 2>/dev/null || true

# 3. Two million registrations.
rss0=$(rss_kb intercept)
# The hog holds its connections (heartbeats) until killed, so its routes stay.
safety_py online control_hog.py register "$LAB_TARGET_IP" "$port" --count 2000000 --connections 3 \
    --seconds 110 >"$LAB_DIR/register.out" &
hog=$!
sleep 3
flood_start=$(date +%s%N)
safety_expect_fresh_copies 20 "during the registration flood"
lab_log "20 fresh copies during the flood took $((($(date +%s%N) - flood_start) / 1000000)) ms"
# intercept reads what the kernel buffered for it: wait until it has seen them all.
for ((i = 0; i < 90; i++)); do
    safety_stats intercept
    (($(safety_stat intercept registrations) >= 2000000)) && break
    sleep 1
done
lab_log "$(cat "$LAB_DIR/register.out")"
rss1=$(rss_kb intercept)
routes=$(safety_stat intercept routes)
over=$(safety_stat intercept registrations_over_cap)
lab_log "2,000,000 registrations: intercept RSS ${rss0} kB -> ${rss1} kB, routes=$routes (cap 524288), registrations_over_cap=$over"
(($(safety_stat intercept registrations) >= 2000000)) ||
    lab_fail "registrations intercept read within 90 s" ">= 2000000" "$(safety_stat intercept registrations)"
((routes <= 524288)) || lab_fail "intercept's routes" "<= 524288" "$routes"
((over >= 2000000 - 524288)) || lab_fail "intercept's registrations_over_cap" ">= $((2000000 - 524288))" "$over"
((rss1 < 262144)) || lab_fail "intercept's resident memory after 2,000,000 registrations" "< 256 MiB" "$((rss1 / 1024)) MiB"
grep -q "registration refused: .* is over the cap of" "$(lab_daemon_log intercept)" ||
    lab_fail "intercept's log" "an over-cap notice" "none"
# The hog's python, by its pid in the online namespace: its routes go with its connections.
for pid in $(ip netns pids "$(lab_ns online)"); do
    grep -qa "control_hog.py.register" "/proc/$pid/cmdline" 2>/dev/null && kill "$pid"
done
wait "$hog" 2>/dev/null || true
for ((i = 0; i < 50; i++)); do
    safety_stats intercept
    (($(safety_stat intercept routes) < 1000)) && break
    sleep 0.2
done
safety_expect_fresh_copies 20 "after the registration flood"
lab_expect_clean_stop tcpcopy
lab_expect_clean_stop intercept

# 4. A shared secret.
head -c 32 /dev/urandom | base64 >"$LAB_DIR/secret"
head -c 32 /dev/urandom | base64 >"$LAB_DIR/wrong"
lab_intercept_start guarded --secret-file "$LAB_DIR/secret"
out=$(safety_py online control_hog.py secret "$LAB_TARGET_IP" "$port" --secret "$(cat "$LAB_DIR/wrong")" --seconds 5)
lab_log "$out"
[[ $out == *"challenge=yes welcome=no goodbye=6"* ]] || lab_fail "a peer with the wrong secret" "challenged, goodbye 6" "$out"
safety_wait_log guarded "refused a control connection: wrong shared secret" 2
if lab_exec online timeout 20 "$(lab_bin tcpcopy)" -x "80-$LAB_TARGET_IP:80" >"$LAB_DIR/nosecret.out" 2>&1; then
    lab_fail "tcpcopy without the secret" "a non-zero exit" "exit 0"
fi
grep -q "intercept requires the shared secret" "$LAB_DIR/nosecret.out" ||
    lab_fail "tcpcopy's message without the secret" "names --secret-file" "$(tail -n 2 "$LAB_DIR/nosecret.out")"
if lab_exec online timeout 20 "$(lab_bin tcpcopy)" -x "80-$LAB_TARGET_IP:80" --secret-file "$LAB_DIR/wrong" \
    >"$LAB_DIR/wrongsecret.out" 2>&1; then
    lab_fail "tcpcopy with the wrong secret" "a non-zero exit" "exit 0"
fi
grep -q "intercept refused the shared secret" "$LAB_DIR/wrongsecret.out" ||
    lab_fail "tcpcopy's message with the wrong secret" "says so" "$(tail -n 2 "$LAB_DIR/wrongsecret.out")"
lab_tcpcopy_start tcpcopy-secret -x "80-$LAB_TARGET_IP:80" -t 10 --secret-file "$LAB_DIR/secret"
safety_expect_fresh_copies 20 "with the shared secret"
lab_exec online "$(lab_bin tcpcopy)" doctor -x "80-$LAB_TARGET_IP:80" --secret-file "$LAB_DIR/secret" \
    >"$LAB_DIR/doctor.out" 2>&1 || true
grep -q "answered the handshake" "$LAB_DIR/doctor.out" ||
    lab_fail "tcpcopy doctor --secret-file" "the handshake passing" "$(grep -i 'control port' "$LAB_DIR/doctor.out")"
lab_expect_clean_stop tcpcopy-secret
lab_expect_clean_stop guarded
# The hog's wrong proof and the wrong-secret tcpcopy's (the one without a secret sends none).
(($(lab_stat_int "$(lab_daemon_log guarded)" secret_refused) >= 2)) ||
    lab_fail "intercept's secret_refused" ">= 2" "$(lab_stat_int "$(lab_daemon_log guarded)" secret_refused)"
lab_log "PASS hostile_control_hogs: 64 slot-holders dropped (first after ${first} s), 20/20 squatted keys reported, 2,000,000 registrations capped at $routes routes (RSS ${rss1} kB), wrong secrets refused"
