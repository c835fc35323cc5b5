#!/bin/bash
# Wall time of the stock `openstack` CLI (the harness venv's, pinned) for the
# calls tests/real_openstack/latency.rs times with Lifeboat's client, at
# site-b. Median of 5, in ms. Usage: cli-latency.sh [BASE]
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BASE=$(realpath -m "${1:-$HERE/../../target/real-openstack}")
export OS_CLIENT_CONFIG_FILE=$BASE/clouds.yaml OS_CLOUD=real-site-b PYTHONWARNINGS=ignore
O=$BASE/venv/bin/openstack
echo "| call | openstack CLI |"; echo "|---|---|"
for call in "token issue" "volume list" "server list" "volume backup list"; do
  ts=()
  for _ in 1 2 3 4 5; do
    s=$(date +%s%N); $O $call -f value >/dev/null; e=$(date +%s%N); ts+=($(( (e-s)/1000000 )))
  done
  echo "| $call | $(printf '%s\n' "${ts[@]}" | sort -n | sed -n 3p) ms |"
done
