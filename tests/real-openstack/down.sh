#!/bin/bash
# Stop everything up.sh started, by the process groups it recorded in
# BASE/run/{site-a,site-b,shared}/*.pid (SIGTERM, then SIGKILL after 10 s).
# RabbitMQ is stopped only if up.sh started it (run/shared/rabbitmq.pid); its
# epmd helper is stopped by the pid listening on 127.0.0.1:4369.
# Usage: down.sh [BASE]   (data and logs stay in BASE for post-mortems)
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
BASE=$(realpath -m "${1:-$REPO/target/real-openstack}")
source "$HERE/lib/common.sh"
[ -d "$BASE/run" ] || { echo "nothing to stop in $BASE"; exit 0; }
for s in $SITES; do stop_group $s; done
if [ -f "$BASE/run/shared/rabbitmq.pid" ]; then
  rabbitmqctl -q stop >/dev/null 2>&1 || true
  epmd_pid=$(ss -Hltnp 'sport = :4369' 2>/dev/null | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2)
  stop_group shared
  [ -n "$epmd_pid" ] && kill "$epmd_pid" 2>/dev/null
else
  stop_group shared
fi
echo "stopped the stack in $BASE"
