# Shared by up.sh, down.sh and site-down.sh: layout of BASE, ports, passwords
# and the process helpers. Source it after setting BASE.
#
# BASE/
#   venv -> the cached venv (lib/install.sh)
#   clouds.yaml, admin-openrc, env        what tests and operators use
#   etc/<site>/<service>/                 configs (swift too); etc/keystone
#   data/<site>/volumes/                  the file-backed volumes (volume-<id>, snapshot-<id>)
#   data/backups/                         cinder-backup posix store, shared by both sites
#   run/<group>/<name>.pid                one pid per process group (setsid), group = shared|site-a|site-b
#   log/                                  every service's log

SITES="site-a site-b"
ADMIN_PW=secretpass        # keystone admin (project admin)
SVC_PW=servicepass         # service users cinder/nova/glance/placement/swift
RABBIT_PW=rabbitpass
OP_USER=operator OP_PW=lifeboat OP_PROJECT=vnf-ops   # what Lifeboat runs as

KEYSTONE_PORT=5000
SWIFT_PORT=8080            # site-b's proxy (account/container/object 6202/6201/6200); site-a's +10
# site-a uses the usual ports, site-b the same + 10000
port(){ # site service
  local off=0; [ "$1" = site-b ] && off=10000
  case $2 in
    nova) echo $((8774+off));; cinder) echo $((8776+off));; placement) echo $((8778+off));;
    glance) echo $((9292+off));; neutron) echo $((9696+off));;
  esac
}

export PYTHONWARNINGS=ignore
V=$BASE/venv/bin
t0=${t0:-$(date +%s)}
lap(){ echo "[$(( $(date +%s)-t0 ))s] $*"; }
die(){ echo "up.sh: $*" >&2; exit 1; }

# wait_http URL [seconds]: until anything answers (never curl gunicorn without -m)
wait_http(){
  for _ in $(seq 1 "${2:-90}"); do curl -s -m 2 -o /dev/null "$1" && return 0; sleep 1; done
  die "timeout waiting for $1"
}

# start GROUP NAME CMD...: run CMD in its own session (so its pid is also its
# process group, and its workers can be stopped together), loopback services only.
start(){
  local g=$1 n=$2; shift 2
  mkdir -p "$BASE/run/$g"
  setsid nohup "$@" </dev/null >>"$BASE/log/$n.out" 2>&1 &
  echo $! >"$BASE/run/$g/$n.pid"
}

# stop_group GROUP: SIGTERM every recorded process group, then SIGKILL what is left.
stop_group(){
  local d=$BASE/run/$1 f pids=""
  [ -d "$d" ] || return 0
  for f in "$d"/*.pid; do [ -f "$f" ] && pids="$pids $(cat "$f")"; done
  for p in $pids; do kill -TERM -- "-$p" 2>/dev/null || true; done
  for _ in $(seq 1 20); do
    local alive=""
    for p in $pids; do kill -0 -- "-$p" 2>/dev/null && alive="$alive $p"; done
    [ -z "$alive" ] && break; sleep 0.5
  done
  for p in $pids; do kill -KILL -- "-$p" 2>/dev/null || true; done
  rm -f "$d"/*.pid
}

# gunicorn in front of an OpenStack WSGI app. oslo.config parses sys.argv, so
# the app is imported through a wrapper module that replaces gunicorn's argv
# (argv[0] also names the service's log file).
wsgi_app(){ # group name port module [config-file]
  local g=$1 n=$2 p=$3 m=$4 conf=${5:-}
  local args="[]"; [ -n "$conf" ] && args="['--config-file', '$conf']"
  mkdir -p "$BASE/wsgi/$g"
  printf 'import sys\nsys.argv = [%s] + %s\nfrom %s import application  # noqa: E402,F401\n' "'$n'" "$args" "$m" >"$BASE/wsgi/$g/wsgi_${n//-/_}.py"
  start "$g" "$n" "$V/gunicorn" --chdir "$BASE/wsgi/$g" --bind "127.0.0.1:$p" --workers 1 --threads "${WSGI_THREADS:-4}" \
    --no-control-socket --timeout 120 "wsgi_${n//-/_}:application"
}

# rabbitmq is shared by both sites (one vhost each). Loopback only.
export RABBITMQ_NODENAME=rabbit@localhost RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 ERL_EPMD_ADDRESS=127.0.0.1
export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"


# dead_services: names of recorded services whose process is gone (empty = all alive)
dead_services(){
  local f
  for f in "$BASE"/run/*/*.pid; do
    [ -f "$f" ] || continue
    kill -0 "$(cat "$f")" 2>/dev/null || basename "$f" .pid
  done
}
