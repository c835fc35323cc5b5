#!/bin/bash
# Take one site away mid-test, as a disaster would: stop every service of that
# region (Nova, Cinder, Glance, Placement, Neutron, and its
# Swift with its container-sync daemon) by the process groups up.sh recorded. Keystone and RabbitMQ are
# shared infrastructure and stay (a multi-region Keystone is replicated to
# every site; each site has its own RabbitMQ vhost). The site's files stay on
# disk, so tests can still read the dead site's volumes to compare content.
# Usage: site-down.sh site-a|site-b [BASE]
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
SITE=${1:?usage: site-down.sh site-a|site-b [BASE]}
BASE=$(realpath -m "${2:-$REPO/target/real-openstack}")
source "$HERE/lib/common.sh"
case " $SITES " in *" $SITE "*) ;; *) echo "unknown site $SITE (one of: $SITES)" >&2; exit 2;; esac
stop_group "$SITE"
for x in nova cinder placement glance neutron; do
  if curl -s -m 1 -o /dev/null "http://127.0.0.1:$(port $SITE $x)/"; then echo "$SITE $x still answers" >&2; exit 1; fi
done
echo "$SITE is down"
