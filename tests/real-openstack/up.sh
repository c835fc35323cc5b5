#!/bin/bash
# Bring up two sites of real OpenStack on 127.0.0.1, sharing one Keystone:
#   regions site-a and site-b, each with Cinder (api, scheduler, volume on the
#   file-backed test driver, backup), Nova (api, conductor, scheduler, compute
#   on the fake driver) + Placement, Glance and Neutron (ML2, agentless); Swift at
#   each site (container sync between them: the realm LIFEBOAT); both sites'
#   cinder-backup write to one shared posix directory. Designate, shared like
#   Keystone (an endpoint in each region), with BIND 9 serving its zones.
# Then seed the demo VNF `vims` at site-a and write BASE/clouds.yaml
# (clouds real, real-site-a, real-site-b, real-admin) and BASE/env.
#
# Usage: up.sh [BASE]      (default: <repo>/target/real-openstack)
# Stop with down.sh [BASE]; take site-a away with site-down.sh site-a [BASE].
# Needs root on Debian 12 with python3 (3.11), PyPI and apt reachable (or the
# venv cache and rabbitmq-server already present). See README.md.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
BASE=$(realpath -m "${1:-$REPO/target/real-openstack}")
t0=$(date +%s)
source "$HERE/lib/common.sh"
source "$HERE/lib/site.sh"
source "$HERE/lib/swift.sh"
source "$HERE/lib/mariadb.sh"
source "$HERE/lib/designate.sh"

if ls "$BASE"/run/*/*.pid >/dev/null 2>&1; then
  die "a stack is already running in $BASE (down.sh $BASE first)"
fi
for p in $KEYSTONE_PORT $DB_PORT $DESIGNATE_PORT $(for s in $SITES; do for x in proxy object container account; do swift_port $s $x; done; done) $(for s in $SITES; do for x in nova cinder placement glance neutron; do port $s $x; done; done); do
  if curl -s -m 1 -o /dev/null "http://127.0.0.1:$p/"; then die "port $p is already in use"; fi
done
rm -rf "$BASE"
# On any failure, stop whatever was started already (logs stay in BASE/log).
trap 'rc=$?; if [ $rc != 0 ]; then echo "up.sh failed ($rc); stopping what it started" >&2; "$HERE/down.sh" "$BASE" >&2; fi' EXIT
mkdir -p "$BASE"/{log,run,data/backups,etc/keystone,data/keystone}

# ------------------------------------------------------------------ packages
VENV=$("$HERE/lib/install.sh")
ln -sfn "$VENV" "$BASE/venv"
lap "packages ready ($VENV)"

# ------------------------------------------------------------------ mariadb (every service's database)
start_mariadb
lap "mariadb up"

# ------------------------------------------------------------------ rabbitmq (shared, one vhost per site)
if ! rabbitmqctl -q status >/dev/null 2>&1; then
  start shared rabbitmq /usr/sbin/rabbitmq-server
  for _ in $(seq 1 60); do rabbitmqctl -q status >/dev/null 2>&1 && break; sleep 1; done
  rabbitmqctl -q status >/dev/null 2>&1 || die "rabbitmq did not start (log/rabbitmq.out)"
else
  echo "rabbitmq already running; reusing it (down.sh will not stop it)"
fi
rabbitmqctl -q add_user openstack $RABBIT_PW >/dev/null 2>&1 || rabbitmqctl -q change_password openstack $RABBIT_PW >/dev/null
for s in $SITES dns; do
  rabbitmqctl -q add_vhost $s >/dev/null 2>&1 || true
  rabbitmqctl -q set_permissions -p $s openstack ".*" ".*" ".*" >/dev/null
done
lap "rabbitmq up (vhosts $SITES dns)"

# ------------------------------------------------------------------ keystone (shared by both regions)
KURL=http://127.0.0.1:$KEYSTONE_PORT/v3
printf '%s\n' "[DEFAULT]" "log_dir = $BASE/log" "log_file = keystone.log" \
  "[database]" "connection = $(db_url keystone)" \
  "[token]" "provider = fernet" \
  "[fernet_tokens]" "key_repository = $BASE/data/keystone/fernet-keys" \
  "[credential]" "key_repository = $BASE/data/keystone/credential-keys" \
  "[identity]" "# bcrypt's default cost makes every password auth ~0.3 s; 4 rounds: ~45 ms" \
  "password_hash_rounds = 4" >$BASE/etc/keystone/keystone.conf
K="$V/keystone-manage --config-file $BASE/etc/keystone/keystone.conf"
{ $K db_sync && $K fernet_setup --keystone-user root --keystone-group root &&
  $K credential_setup --keystone-user root --keystone-group root &&
  $K bootstrap --bootstrap-password $ADMIN_PW --bootstrap-region-id site-a \
    --bootstrap-admin-url $KURL/ --bootstrap-internal-url $KURL/ --bootstrap-public-url $KURL/; } >>$BASE/log/manage.out 2>&1
OS_KEYSTONE_CONFIG_DIR=$BASE/etc/keystone wsgi_app shared keystone $KEYSTONE_PORT keystone.wsgi.api
printf '%s\n' \
  "export OS_AUTH_URL=$KURL OS_USERNAME=admin OS_PASSWORD=$ADMIN_PW OS_PROJECT_NAME=admin" \
  "export OS_USER_DOMAIN_NAME=Default OS_PROJECT_DOMAIN_NAME=Default OS_IDENTITY_API_VERSION=3 OS_REGION_NAME=site-a" \
  "export OS_VOLUME_API_VERSION=3.71 OS_COMPUTE_API_VERSION=2.96 PYTHONWARNINGS=ignore" >$BASE/admin-openrc

# ------------------------------------------------------------------ configure both sites (db syncs) while keystone starts
pids=""
for s in $SITES; do configure_site $s & pids="$pids $!"; done
configure_designate & pids="$pids $!"
for s in $SITES; do configure_swift $s; done
for p in $pids; do wait $p || die "configuring a site failed (log/manage.out)"; done
wait_http $KURL
lap "keystone up, sites configured"

endpoints(){ # site -> JSON object of service type -> url
  local s=$1
  printf '"%s": {"identity": "%s/", "compute": "http://127.0.0.1:%s/v2.1", "block-storage": "http://127.0.0.1:%s/v3", "placement": "http://127.0.0.1:%s", "image": "http://127.0.0.1:%s", "network": "http://127.0.0.1:%s"' \
    $s $KURL $(port $s nova) $(port $s cinder) $(port $s placement) $(port $s glance) $(port $s neutron)
  printf ', "object-store": "http://127.0.0.1:%s/v1/AUTH_%%(project_id)s"' $(swift_port $s proxy)
  printf ', "dns": "http://127.0.0.1:%s"' $DESIGNATE_PORT
  printf '}'
}
( . $BASE/admin-openrc
  $V/python $HERE/py/catalog.py "{$(endpoints site-a), $(endpoints site-b)}" $SVC_PW $OP_USER $OP_PW $OP_PROJECT )
lap "catalog registered"

# ------------------------------------------------------------------ start every service
for s in $SITES; do start_site $s; done
for s in $SITES; do start_swift $s; done
start_designate
for s in $SITES; do for x in neutron glance cinder placement nova; do wait_http http://127.0.0.1:$(port $s $x)/ 120; done; done
for s in $SITES; do wait_http http://127.0.0.1:$(swift_port $s proxy)/healthcheck; done
wait_http http://127.0.0.1:$DESIGNATE_PORT/ 120
designate_pool
lap "APIs answering, Designate's pool loaded"

# ------------------------------------------------------------------ clouds.yaml + env
cloud(){ # name user password project [region]
  printf '  %s:\n    auth:\n      auth_url: %s\n      username: %s\n      password: %s\n      project_name: %s\n' $1 $KURL $2 $3 $4
  printf '      user_domain_name: Default\n      project_domain_name: Default\n    identity_api_version: 3\n    interface: public\n'
  [ -n "${5:-}" ] && printf '    region_name: %s\n' $5
  return 0
}
{ echo "# written by tests/real-openstack/up.sh. Cloud 'real' has no region: Lifeboat uses region = site name."
  echo "clouds:"
  cloud real $OP_USER $OP_PW $OP_PROJECT
  cloud real-site-a $OP_USER $OP_PW $OP_PROJECT site-a
  cloud real-site-b $OP_USER $OP_PW $OP_PROJECT site-b
  cloud real-admin admin $ADMIN_PW admin site-a
} >$BASE/clouds.yaml
printf '%s\n' "# source me: the harness's clouds.yaml and where the tests find the stack" \
  "export OS_CLIENT_CONFIG_FILE=$BASE/clouds.yaml LIFEBOAT_REALOS_BASE=$BASE PYTHONWARNINGS=ignore" >$BASE/env

# ------------------------------------------------------------------ wait until every service is up, seed the demo VNF
OS_CLIENT_CONFIG_FILE=$BASE/clouds.yaml $V/python $HERE/py/seed.py "$BASE" &
seed=$!
while kill -0 $seed 2>/dev/null; do
  dead=$(dead_services)
  if [ -n "$dead" ]; then kill $seed; die "service(s) died: $dead (see $BASE/log)"; fi
  sleep 2
done
wait $seed || die "seeding failed"
[ -z "$(dead_services)" ] || die "service(s) died: $(dead_services)"
lap "ALL UP; demo VNF seeded at site-a. source $BASE/env"
