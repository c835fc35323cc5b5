# configure_swift / start_swift SITE: a Swift cluster per site (proxy,
# account, container, object; one replica, keystoneauth). Site-b keeps
# Lifeboat's manifests; both are the clusters SITE-A and SITE-B of the
# container-sync realm LIFEBOAT (container-sync-realms.conf, the
# container_sync middleware before auth in each proxy, and the
# swift-container-sync daemon every 2 s) for option 3's object data.
# Sourced by up.sh. Devices are plain directories (mount_check off); every
# server runs with workers = 0 (one process): with workers >= 1 each server
# died here with "worker N did not start normally".

# swift_port SITE proxy|object|container|account
swift_port(){
  local off=0; [ "$1" = site-a ] && off=10
  case $2 in
    proxy) echo $((SWIFT_PORT+off));; object) echo $((6200+off));;
    container) echo $((6201+off));; account) echo $((6202+off));;
  esac
}

configure_swift(){
  local site=$1
  local E=$BASE/etc/$site/swift
  mkdir -p $E $BASE/data/$site/swift/sdb1
  cat >$E/container-sync-realms.conf <<EOF2
[LIFEBOAT]
key = lifeboat-realm-key
cluster_site-a = http://127.0.0.1:$(swift_port site-a proxy)/v1/
cluster_site-b = http://127.0.0.1:$(swift_port site-b proxy)/v1/
EOF2
  cat >$E/internal-client.conf <<EOF2
[DEFAULT]
swift_dir = $E
[pipeline:main]
pipeline = catch_errors proxy-logging proxy-server
[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
[filter:catch_errors]
use = egg:swift#catch_errors
[filter:proxy-logging]
use = egg:swift#proxy_logging
EOF2
  cat >$E/swift.conf <<EOF2
[swift-hash]
swift_hash_path_suffix = lifeboat
swift_hash_path_prefix = lifeboat
[storage-policy:0]
name = Policy-0
default = yes
EOF2
  local spec n p
  for n in account container object; do
    p=$(swift_port $site $n)
    cat >$E/$n-server.conf <<EOF2
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $p
workers = 0
swift_dir = $E
devices = $BASE/data/$site/swift
mount_check = false
# The harness runs as root; the daemons (container sync) drop to this user.
user = root
log_name = $site-swift-$n
[pipeline:main]
pipeline = healthcheck $n-server
[app:$n-server]
use = egg:swift#$n
[filter:healthcheck]
use = egg:swift#healthcheck
[container-sync]
interval = 2
internal_client_conf_path = $E/internal-client.conf
EOF2
    (cd $E && $V/swift-ring-builder $n.builder create 10 1 1 >/dev/null &&
      $V/swift-ring-builder $n.builder add r1z1-127.0.0.1:$p/sdb1 100 >/dev/null &&
      { $V/swift-ring-builder $n.builder rebalance >/dev/null || true; })
  done
  cat >$E/proxy-server.conf <<EOF2
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $(swift_port $site proxy)
workers = 0
swift_dir = $E
log_name = $site-swift-proxy
[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging container_sync listing_formats authtoken keystoneauth copy slo dlo versioned_writes proxy-logging proxy-server
[filter:container_sync]
use = egg:swift#container_sync
[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:copy]
use = egg:swift#copy
[filter:slo]
use = egg:swift#slo
[filter:dlo]
use = egg:swift#dlo
[filter:versioned_writes]
use = egg:swift#versioned_writes
[filter:keystoneauth]
use = egg:swift#keystoneauth
operator_roles = admin, member
[filter:authtoken]
paste.filter_factory = keystonemiddleware.auth_token:filter_factory
www_authenticate_uri = http://127.0.0.1:$KEYSTONE_PORT
auth_url = http://127.0.0.1:$KEYSTONE_PORT
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = service
username = swift
password = $SVC_PW
delay_auth_decision = True
EOF2
}

start_swift(){
  local site=$1 n
  for n in account container object proxy; do
    start $site $site-swift-$n $V/swift-$n-server $BASE/etc/$site/swift/$n-server.conf
  done
  # swift-container-sync reads swift.conf from /etc/swift whatever its
  # config's swift_dir (the WSGI servers follow swift_dir): point it there.
  start $site $site-swift-container-sync $V/python -c \
    'import sys; from swift.common.utils import set_swift_dir; set_swift_dir(sys.argv[1]); from swift.container.sync import main; sys.argv = ["swift-container-sync", sys.argv[2]]; main()' \
    $BASE/etc/$site/swift $BASE/etc/$site/swift/container-server.conf
}
