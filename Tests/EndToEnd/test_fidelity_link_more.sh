#!/usr/bin/env bash
# The rest of issue 23's fidelity set on libpcap (-i any, Linux cooked): the greeting protocol
# (the server speaks first) and 1% loss on the target's link, each the ordinary fidelity test
# run with FID_TCPCOPY_ARGS, byte for byte as with the raw socket.
set -euo pipefail
here=$(dirname "${BASH_SOURCE[0]}")
for name in fidelity_greeting fidelity_loss; do
    echo "---- $name with -i any"
    FID_TCPCOPY_ARGS="-i any" bash "$here/test_$name.sh"
done
