# configure_swift / start_swift: Swift (proxy, account, container, object; one
# replica, keystoneauth) for site-b, where Lifeboat keeps its manifests.
# Sourced by up.sh. Devices are plain directories (mount_check off); every
# server runs with workers = 0 (one process): with workers >= 1 each server
# died here with "worker N did not start normally".

configure_swift(){
  local E=$BASE/etc/swift
  mkdir -p $E $BASE/data/site-b/swift/sdb1
  cat >$E/swift.conf <<EOF2
[swift-hash]
swift_hash_path_suffix = lifeboat
swift_hash_path_prefix = lifeboat
[storage-policy:0]
name = Policy-0
default = yes
EOF2
  local spec n p
  for spec in account:6202 container:6201 object:6200; do
    n=${spec%%:*}; p=${spec##*:}
    cat >$E/$n-server.conf <<EOF2
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $p
workers = 0
swift_dir = $E
devices = $BASE/data/site-b/swift
mount_check = false
log_name = site-b-swift-$n
[pipeline:main]
pipeline = healthcheck $n-server
[app:$n-server]
use = egg:swift#$n
[filter:healthcheck]
use = egg:swift#healthcheck
EOF2
    (cd $E && $V/swift-ring-builder $n.builder create 10 1 1 >/dev/null &&
      $V/swift-ring-builder $n.builder add r1z1-127.0.0.1:$p/sdb1 100 >/dev/null &&
      { $V/swift-ring-builder $n.builder rebalance >/dev/null || true; })
  done
  cat >$E/proxy-server.conf <<EOF2
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $SWIFT_PORT
workers = 0
swift_dir = $E
log_name = site-b-swift-proxy
[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging listing_formats authtoken keystoneauth copy slo dlo versioned_writes proxy-logging proxy-server
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
  local n
  for n in account container object proxy; do
    start site-b site-b-swift-$n $V/swift-$n-server $BASE/etc/swift/$n-server.conf
  done
}
