#!/usr/bin/env bash
# A control stream that goes bad after the handshake (a stand-in intercept welcomes tcpcopy, then
# writes bytes that are no frame): tcpcopy drops the link, counts it as control_links_corrupt (and
# in control_link_failures), reconnects, and the scrape shows the same count with its help text.
set -euo pipefail
# shellcheck source=../../Scripts/lab-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../Scripts/lab-lib.sh"
LAB_PREFIX=$(lab_test_prefix control_corrupt)
tm=127.0.0.1:9100

lab_init
lab_create
lab_nginx_start online
lab_daemon_start fake target python3 -u "$LAB_REPO_DIR/Tests/Servers/corrupt_intercept.py" \
    --port "$LAB_CONTROL_PORT" --delay 0.5 --connections 2
sleep 0.5
lab_tcpcopy_start tcpcopy --metrics-listen "$tm" "$LAB_ONLINE_IP" 80 "$LAB_TARGET_IP" 80

# Two corrupt streams: the first link, and the one tcpcopy reconnects (backoff from 0.5 s).
log=$(lab_daemon_log tcpcopy)
for _ in $(seq 1 40); do
    (($(grep -c 'corrupt control stream' "$log" || true) >= 2)) && break
    sleep 0.25
done
kill -USR1 "$(lab_daemon_pid tcpcopy)"
sleep 0.3
corrupt=$(lab_stat_int "$log" control_links_corrupt)
failures=$(lab_stat_int "$log" control_link_failures)
scrape=$(lab_scrape online "$tm")
scraped=$(lab_metric "$scrape" tcpcopy_control_links_corrupt_total)
lab_log "control_links_corrupt $corrupt, control_link_failures $failures, scraped $scraped"
((corrupt == 2)) || lab_fail "control_links_corrupt" 2 "$corrupt"
((failures == corrupt)) || lab_fail "control_link_failures (every loss was a corrupt stream)" "$corrupt" "$failures"
[[ $scraped == "$corrupt" ]] || lab_fail "tcpcopy_control_links_corrupt_total" "$corrupt" "$scraped"
grep -q '^# HELP tcpcopy_control_links_corrupt_total .*decoded' <<<"$scrape" ||
    lab_fail "# HELP of tcpcopy_control_links_corrupt_total" "the declaration's help text" "none"
lab_daemon_alive tcpcopy || lab_fail "tcpcopy after two corrupt links" "alive" "gone"

lab_expect_clean_stop tcpcopy
lab_log "PASS control_corrupt: $corrupt corrupt links counted"
