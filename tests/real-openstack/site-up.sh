#!/bin/bash
# Bring a site taken away by site-down.sh back, as after a disaster that
# ended: every service of that region started again on its own databases,
# files and configuration (nothing is reconfigured or reseeded). Its
# nova-compute finds the guests its hypervisor kept (the harness's driver,
# drivers/lifeboat_fakevirt.py) — the old copies of a recovered VNF are
# running again, which is what fencing is for.
# Usage: site-up.sh site-a|site-b [BASE]
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
SITE=${1:?usage: site-up.sh site-a|site-b [BASE]}
BASE=$(realpath -m "${2:-$REPO/target/real-openstack}")
source "$HERE/lib/common.sh"
source "$HERE/lib/site.sh"
source "$HERE/lib/swift.sh"
case " $SITES " in *" $SITE "*) ;; *) echo "unknown site $SITE (one of: $SITES)" >&2; exit 2;; esac
if ls "$BASE/run/$SITE"/*.pid >/dev/null 2>&1; then die "$SITE is already up in $BASE"; fi
start_site "$SITE"
start_swift "$SITE"
for x in neutron glance cinder placement nova; do wait_http "http://127.0.0.1:$(port $SITE $x)/" 120; done
wait_http "http://127.0.0.1:$(swift_port $SITE proxy)/healthcheck"
# The APIs answer before the workers are ready: wait until the site's
# compute and volume services report up (as an operator checks before
# touching the site).
( . "$BASE/admin-openrc"; export OS_REGION_NAME=$SITE
  for _ in $(seq 1 90); do
    up_c=$("$V/openstack" compute service list -f value -c Binary -c State 2>/dev/null | grep -c 'nova-compute up' || true)
    up_v=$("$V/openstack" volume service list -f value -c Binary -c State 2>/dev/null | grep -cE 'cinder-(volume|backup) up' || true)
    [ "$up_c" -ge 1 ] && [ "$up_v" -ge 2 ] && exit 0
    sleep 2
  done
  exit 1 ) || die "$SITE's compute and volume services did not report up (see $BASE/log)"
[ -z "$(dead_services)" ] || die "service(s) died: $(dead_services)"
echo "$SITE is up"
