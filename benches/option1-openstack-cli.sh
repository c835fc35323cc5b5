#!/usr/bin/env bash
# Option 1 of the VNF geo-DR requirement done the way operators script it
# today: the stock `openstack` CLI, one call after the other. The same calls,
# in the same order, as `lifeboat run option1/protect` and `option1/recover`.
# Timed against lifeboat by `cargo bench -p lifeboat-tests --bench option1_cli`.
#
#   benches/option1-openstack-cli.sh protect|recover
#
# Env: OSC (the `openstack` executable), OS_CLIENT_CONFIG_FILE (clouds
# `emulator-site-a` / `emulator-site-b`), VNF (default vims), CALLS_FILE (one
# line per CLI or API call made), WORK_DIR (scratch files). Needs jq and curl.
#
# One step is not done with the CLI: OSC 10.5's `volume backup record import`
# is broken (it sends the record in a body Cinder rejects), so the backup
# records are imported with a raw API call (curl, with a token from
# `openstack token issue`), as operators do to work around it. Servers are
# booted without networks (`--nic none`): OSC resolves network names through
# Neutron, which the emulator does not offer (lifeboat passes the names to
# Nova as they are); that saves the script calls, so it only flatters the CLI.
set -euo pipefail

OSC="${OSC:-openstack}"
VNF="${VNF:-vims}"
WORK_DIR="${WORK_DIR:-$(mktemp -d)}"
CALLS_FILE="${CALLS_FILE:-$WORK_DIR/calls}"
A=emulator-site-a
B=emulator-site-b
CONTAINER=lifeboat-cli-manifests

# One CLI call (counted). Usage: os CLOUD ARGS...
os() {
  local cloud="$1"
  shift
  echo "$*" >>"$CALLS_FILE"
  "$OSC" --os-cloud "$cloud" "$@" </dev/null
}

# Poll `show` until FIELD is WANT (each poll is a call, as in a script).
wait_for() {
  local cloud="$1" want="$2" field="$3"
  shift 3
  local got
  for _ in $(seq 1 600); do
    got="$(os "$cloud" "$@" -f value -c "$field")"
    [ "$got" = "$want" ] && return 0
    case "$got" in error*) echo "$* ended in $got" >&2; return 1 ;; esac
    sleep 0.2
  done
  echo "$*: $field never became $want (last: $got)" >&2
  return 1
}

wait_gone() {
  local cloud="$1"
  shift
  for _ in $(seq 1 600); do
    os "$cloud" "$@" >/dev/null 2>&1 || return 0
    sleep 0.2
  done
  echo "$* never went away" >&2
  return 1
}

protect() {
  local run="cli$$"
  # Servers of the VNF (by tag) and their volumes.
  os $A --os-compute-api-version 2.26 server list --tags "$VNF" -f json >"$WORK_DIR/servers.json"
  local ids
  ids="$(jq -r '.[].ID' "$WORK_DIR/servers.json")"
  : >"$WORK_DIR/topology.jsonl"
  for id in $ids; do
    os $A server show "$id" -f json | jq -c '{id, name, flavor, properties, volumes_attached, addresses}' >>"$WORK_DIR/topology.jsonl"
  done
  os $A volume list --long -f json >"$WORK_DIR/volumes.json"
  local vols
  vols="$(jq -r '.volumes_attached[].id' "$WORK_DIR/topology.jsonl")"

  # A generic volume group holding all of them (consistent group snapshots).
  local grp
  grp="$(os $A --os-volume-api-version 3.13 volume group list -f json | jq -r --arg n "lb-$VNF" '.[] | select(.Name == $n) | .ID')"
  if [ -z "$grp" ]; then
    grp="$(os $A --os-volume-api-version 3.13 volume group create --volume-group-type consistent --volume-type standard --name "lb-$VNF" -f value -c id)"
    wait_for $A available status --os-volume-api-version 3.13 volume group show "$grp"
    os $A --os-volume-api-version 3.13 volume group add volume "$grp" $vols >/dev/null
  fi

  # Quiesce in role order (pause), group snapshot, unpause in reverse.
  local order=()
  for role in db app lb; do
    order+=($(jq -r --arg r "$role" 'select(.properties.role == $r) | .id' "$WORK_DIR/topology.jsonl"))
  done
  for id in "${order[@]}"; do
    os $A server pause "$id"
    wait_for $A PAUSED status server show "$id"
  done
  local gs
  gs="$(os $A --os-volume-api-version 3.14 volume group snapshot create --name "lb-$VNF-$run" "$grp" -f value -c id)"
  wait_for $A available status --os-volume-api-version 3.14 volume group snapshot show "$gs"
  for ((i = ${#order[@]} - 1; i >= 0; i--)); do
    os $A server unpause "${order[$i]}"
    wait_for $A ACTIVE status server show "${order[$i]}"
  done

  # Per snapshot: a temporary volume, an incremental backup, its record.
  os $A --os-volume-api-version 3.14 volume snapshot list --long -f json >"$WORK_DIR/snaps.json"
  : >"$WORK_DIR/records.jsonl"
  local tmps=()
  # (the group snapshot's members are named after it)
  while read -r sid size origin; do
    local tmp bk
    tmp="$(os $A volume create --snapshot "$sid" --size "$size" "lb-$VNF-$run-$origin" -f value -c id)"
    tmps+=("$tmp")
    wait_for $A available status volume show "$tmp"
    bk="$(os $A volume backup create --incremental --name "lb-$VNF-$origin" "$tmp" -f value -c id 2>/dev/null ||
      os $A volume backup create --name "lb-$VNF-$origin" "$tmp" -f value -c id)"
    wait_for $A available status volume backup show "$bk"
    os $A volume backup record export "$bk" -f json | jq -c --arg o "$origin" '{origin: $o, record: .}' >>"$WORK_DIR/records.jsonl"
  done < <(jq -r --arg g "$gs" '.[] | select(.Name | tostring | contains($g)) | "\(.ID) \(.Size) \(.Volume)"' "$WORK_DIR/snaps.json")

  # The recovery manifest, at the backup site.
  jq -s --slurpfile r "$WORK_DIR/records.jsonl" --slurpfile v "$WORK_DIR/volumes.json" \
    '{vnf: "'"$VNF"'", servers: ., volumes: $v[0], records: $r}' "$WORK_DIR/topology.jsonl" >"$WORK_DIR/manifest.json"
  os $B container create "$CONTAINER" >/dev/null
  (cd "$WORK_DIR" && os $B object create --name "$VNF/latest.json" "$CONTAINER" manifest.json >/dev/null)

  # Clean up: temporary volumes, then the group snapshot.
  for tmp in "${tmps[@]}"; do
    os $A volume delete "$tmp"
    wait_gone $A volume show "$tmp"
  done
  os $A --os-volume-api-version 3.14 volume group snapshot delete "$gs"
}

recover() {
  os $B object save --file "$WORK_DIR/manifest-b.json" "$CONTAINER" "$VNF/latest.json"
  local m="$WORK_DIR/manifest-b.json"
  # The workaround for OSC 10.5's record import: a token, then the raw API.
  local token cinder
  token="$(os $B token issue -f value -c id)"
  cinder="$(os $B catalog show volumev3 -f json | jq -r '.endpoints[] | select(.region == "site-b" and .interface == "public") | .url' 2>/dev/null || true)"
  if [ -z "$cinder" ] || [ "$cinder" = "null" ]; then
    cinder="$(os $B catalog show volumev3 -f value -c endpoints | awk '/site-b/{f=1} f && /public:/{print $2; exit}')"
  fi
  declare -A restored
  local n
  n="$(jq '.records | length' "$m")"
  for ((i = 0; i < n; i++)); do
    local rec origin bk vol
    rec="$(jq -c ".records[$i].record" "$m")"
    origin="$(jq -r ".records[$i].origin" "$m")"
    echo "POST backups/import_record" >>"$CALLS_FILE"
    bk="$(curl -sf -X POST -H "X-Auth-Token: $token" -H 'Content-Type: application/json' \
      -d "$(jq -c '{"backup-record": {backup_service: (.backup_service // ."Backup Service"), backup_url: (.backup_url // ."Backup URL")}}' <<<"$rec")" \
      "$cinder/backups/import_record" | jq -r .backup.id)"
    wait_for $B available status volume backup show "$bk"
    vol="$(os $B --os-volume-api-version 3.47 volume create --backup "$bk" "lb-$VNF-$origin" -f value -c id)"
    wait_for $B available status volume show "$vol"
    restored[$origin]="$vol"
  done
  # Boot by priority (db, app, lb) from the boot volumes, attach the data volumes.
  for role in db app lb; do
    while IFS= read -r srv; do
      local name flavor boot data sid
      name="$(jq -r .name <<<"$srv")"
      flavor="$(jq -r '.flavor | if type == "object" then (.original_name // .name // .id) else . end' <<<"$srv" | sed 's/ (.*//')"
      boot="" data=()
      for v in $(jq -r '.volumes_attached[].id' <<<"$srv"); do
        if [ "$(jq -r --arg v "$v" '.[] | select(.ID == $v) | .Bootable' "$m" 2>/dev/null || true)" = "true" ] ||
          [ "$(jq -r --arg v "$v" '.volumes[] | select(.ID == $v) | .Bootable' "$m")" = "true" ]; then
          boot="${restored[$v]}"
        else
          data+=("${restored[$v]}")
        fi
      done
      sid="$(os $B server create --flavor "$flavor" --volume "$boot" --nic none \
        --property role="$role" --property vnf="$VNF" "$name" -f value -c id)"
      wait_for $B ACTIVE status server show "$sid"
      for d in "${data[@]}"; do
        os $B server add volume "$sid" "$d" >/dev/null
        wait_for $B in-use status volume show "$d"
      done
    done < <(jq -c --arg r "$role" '.servers[] | select(.properties.role == $r)' "$m")
  done
}

case "${1:-}" in
  protect) protect ;;
  recover) recover ;;
  *) echo "usage: $0 protect|recover" >&2; exit 2 ;;
esac
