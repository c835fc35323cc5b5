#!/usr/bin/env bash
# Install the stock OpenStack CLI (python-openstackclient) into a venv, pinned
# by the constraints of the verified real-OpenStack stack, and print the path
# of the `openstack` executable (for LIFEBOAT_OPENSTACK_CLI).
#
#   export LIFEBOAT_OPENSTACK_CLI="$(.ci/install-openstackclient.sh)"
#   cargo test -p lifeboat-emulator --test openstack_cli
#
# Arguments: [VENV_DIR] (default target/osc-venv). Env: OSC_CONSTRAINTS (default
# tests/real-openstack/constraints.txt, the real-OpenStack harness's pins).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="${1:-$root/target/osc-venv}"
constraints="${OSC_CONSTRAINTS:-$root/tests/real-openstack/constraints.txt}"
if [ ! -f "$constraints" ]; then
  echo "constraints file not found: $constraints (set OSC_CONSTRAINTS)" >&2
  exit 1
fi
version="$(grep -E '^python-openstackclient==' "$constraints" | head -n1 | cut -d= -f3)"
if [ -z "$version" ]; then
  echo "python-openstackclient is not pinned in $constraints" >&2
  exit 1
fi
if [ ! -x "$venv/bin/openstack" ]; then
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check -c "$constraints" "python-openstackclient==$version" >&2
fi
"$venv/bin/openstack" --version >&2
echo "$venv/bin/openstack"
