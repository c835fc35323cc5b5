# configure_designate / start_designate / designate_pool: real Designate
# (DNS as a service: api, central, worker, producer, mdns) with a real BIND 9
# serving its zones. Sourced by up.sh after lib/common.sh and lib/mariadb.sh.
#
# Designate is one service for both regions, as it is deployed across sites
# (its database and DNS servers at every site; an endpoint per region), like
# the shared Keystone: site-down.sh leaves it running. Its pool has one BIND
# target on loopback: Designate's worker adds each zone to BIND with `rndc
# addzone` (BIND as a secondary of designate-mdns, which answers its AXFR),
# and a change is ACTIVE once BIND serves the zone's new serial.
#
# Ports: API 9001, mdns 5354, BIND 5322 (DNS, UDP and TCP), rndc 9530.

DESIGNATE_PORT=9001
MDNS_PORT=5354
BIND_PORT=5322
RNDC_PORT=9530

configure_designate(){
  local E=$BASE/etc/designate D=$BASE/data/designate B=$BASE/data/bind
  mkdir -p "$E" "$D/locks" "$B"
  cp "$BASE/venv/etc/designate/api-paste.ini" "$E/"
  # The rndc key, shared by BIND (controls) and Designate (rndc_key_file).
  tsig-keygen -a hmac-sha256 rndc-key >"$E/rndc.key"
  cat >"$E/named.conf" <<EOF2
include "$E/rndc.key";
options {
    directory "$B";
    pid-file "$B/named.pid";
    listen-on port $BIND_PORT { 127.0.0.1; };
    listen-on-v6 { none; };
    allow-new-zones yes;
    recursion no;
    minimal-responses yes;
    dnssec-validation no;
    allow-query { 127.0.0.1; };
    allow-notify { 127.0.0.1; };
};
controls {
    inet 127.0.0.1 port $RNDC_PORT allow { 127.0.0.1; } keys { "rndc-key"; };
};
EOF2
  cat >"$E/designate.conf" <<EOF2
[DEFAULT]
transport_url = rabbit://openstack:$RABBIT_PW@127.0.0.1:5672/dns
log_dir = $BASE/log
state_path = $D
[storage:sqlalchemy]
connection = $(db_url designate)
$(authtoken designate)
[service:central]
workers = 1
[service:producer]
workers = 1
[service:api]
listen = 127.0.0.1:$DESIGNATE_PORT
auth_strategy = keystone
enable_api_v2 = True
enable_host_header = True
[service:mdns]
listen = 127.0.0.1:$MDNS_PORT
workers = 1
[service:worker]
workers = 1
poll_retry_interval = 1
poll_delay = 1
poll_max_retries = 30
[coordination]
backend_url = file://$D/coordination
[oslo_concurrency]
lock_path = $D/locks
[oslo_messaging_notifications]
driver = noop
EOF2
  cat >"$E/pools.yaml" <<EOF2
- name: default
  description: Lifeboat harness BIND pool
  attributes: {}
  ns_records:
    - hostname: ns1.lifeboat.test.
      priority: 1
  nameservers:
    - host: 127.0.0.1
      port: $BIND_PORT
  targets:
    - type: bind9
      description: BIND 9 on loopback
      masters:
        - host: 127.0.0.1
          port: $MDNS_PORT
      options:
        host: 127.0.0.1
        port: $BIND_PORT
        rndc_host: 127.0.0.1
        rndc_port: $RNDC_PORT
        rndc_key_file: $E/rndc.key
        clean_zonefile: true
EOF2
  $V/designate-manage --config-file "$E/designate.conf" database sync >>"$BASE/log/manage.out" 2>&1
}

start_designate(){
  local E=$BASE/etc/designate
  start shared bind9 /usr/sbin/named -f -4 -c "$E/named.conf"
  local d
  for d in central mdns worker producer; do
    start shared designate-$d $V/designate-$d --config-file "$E/designate.conf" --log-file "$BASE/log/designate-$d.log"
  done
  OS_DESIGNATE_CONFIG_DIR=$E wsgi_app shared designate-api $DESIGNATE_PORT designate.wsgi.api
}

# designate_pool: load pools.yaml (through designate-central, so once it
# answers) and check BIND answers rndc.
designate_pool(){
  local E=$BASE/etc/designate i
  for i in $(seq 1 60); do
    $V/designate-manage --config-file "$E/designate.conf" pool update --file "$E/pools.yaml" >>"$BASE/log/manage.out" 2>&1 && break
    sleep 2
  done
  [ "$i" -lt 60 ] || die "designate-manage pool update failed (log/manage.out)"
  rndc -s 127.0.0.1 -p $RNDC_PORT -k "$E/rndc.key" status >/dev/null 2>&1 || die "BIND does not answer rndc (log/bind9.out)"
}
