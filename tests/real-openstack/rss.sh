#!/bin/bash
# Memory of the running stack: the processes of every session up.sh
# recorded (BASE/run/*/*.pid: each service is started with setsid, so its
# workers share its session) plus RabbitMQ's epmd. Prints one line:
#   <processes> <RSS MiB>
# With --peak FILE SECONDS: sample every SECONDS until killed, keeping the
# highest "<processes> <RSS MiB>" seen in FILE (CI runs it in the background).
# Usage: rss.sh [BASE] | rss.sh --peak FILE SECONDS [BASE]
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
peak_file="" every=""
if [ "${1:-}" = --peak ]; then peak_file=$2 every=$3; shift 3; fi
BASE=$(realpath -m "${1:-$HERE/../../target/real-openstack}")

sample(){
  local groups f n=0 kb=0 line
  groups=$(cat "$BASE"/run/*/*.pid 2>/dev/null | tr '\n' ',' | sed 's/,$//')
  [ -n "$groups" ] || { echo "0 0"; return; }
  while read -r line; do n=$((n+1)); kb=$((kb+line)); done < <(ps -o rss= --sid "$groups" 2>/dev/null)
  local epmd; epmd=$(ss -Hltnp 'sport = :4369' 2>/dev/null | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2)
  [ -n "$epmd" ] && { n=$((n+1)); kb=$((kb+$(ps -o rss= -p "$epmd" 2>/dev/null || echo 0))); }
  echo "$n $((kb/1024))"
}

if [ -z "$peak_file" ]; then sample; exit 0; fi
echo "0 0" >"$peak_file"
while true; do
  now=$(sample)
  [ "${now#* }" -gt "$(cut -d' ' -f2 "$peak_file")" ] && echo "$now" >"$peak_file"
  sleep "$every"
done
