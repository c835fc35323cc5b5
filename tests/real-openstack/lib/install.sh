#!/bin/bash
# Install what the real-OpenStack harness runs on: rabbitmq-server,
# mariadb-server and BIND 9 (apt), and one Python venv holding Keystone, Cinder, Nova,
# Glance, Placement, Neutron, Swift, Designate, the openstack CLI and PyMySQL, all pinned by
# constraints.txt (the pip freeze of the verified stack, copied from
# ../shared/real-openstack/) + constraints-extra.txt.
#
# The venv is cached under $LIFEBOAT_REALOS_CACHE (default
# ~/.cache/lifeboat-realos/venv-<hash of the pins>), so a CI machine pays the
# ~40 s pip install once; with an empty cache it is built from nothing.
# Prints the venv path on stdout (everything else goes to stderr).
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CONS=${LIFEBOAT_REALOS_CONSTRAINTS:-$HERE/constraints.txt}
[ -f "$CONS" ] || { echo "constraints file $CONS not found (set LIFEBOAT_REALOS_CONSTRAINTS)" >&2; exit 1; }

APT=""
command -v rabbitmq-server >/dev/null 2>&1 || APT="$APT rabbitmq-server"
command -v mariadbd >/dev/null 2>&1 || APT="$APT mariadb-server"
# BIND 9 serves Designate's zones; rndc and tsig-keygen drive it, dig asks it.
command -v named >/dev/null 2>&1 || APT="$APT bind9"
command -v rndc >/dev/null 2>&1 && command -v tsig-keygen >/dev/null 2>&1 || APT="$APT bind9-utils"
command -v dig >/dev/null 2>&1 || APT="$APT bind9-dnsutils"
if [ -n "$APT" ]; then
  echo "installing$APT (apt)" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $APT >&2
fi

PKGS="PyMySQL keystone cinder nova glance openstack-placement neutron swift designate python-swiftclient python-openstackclient gunicorn"
KEY=$( { cat "$CONS" "$HERE/constraints-extra.txt"; echo "$PKGS"; cat "$HERE/drivers/lifeboat_fakevirt.py"; } | sha256sum | cut -c1-12)
CACHE=${LIFEBOAT_REALOS_CACHE:-$HOME/.cache/lifeboat-realos}
VENV=$CACHE/venv-$KEY
if [ ! -x "$VENV/bin/nova-compute" ] || [ ! -f "$VENV/.complete" ]; then
  echo "building venv $VENV" >&2
  mkdir -p "$CACHE"; rm -rf "$VENV"; python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q -c "$CONS" -c "$HERE/constraints-extra.txt" $PKGS >&2
  # nova imports compute drivers only from the nova.virt package.
  cp "$HERE/drivers/lifeboat_fakevirt.py" "$("$VENV/bin/python" -c 'import nova.virt, os; print(os.path.dirname(nova.virt.__file__))')/"
  touch "$VENV/.complete"
fi
echo "$VENV"
