# configure_site SITE / start_site SITE: one region's Glance, Cinder (api,
# scheduler, volume on the file-backed driver, backup to the shared posix
# store), Placement, Nova (api, conductor, scheduler, compute on the fake
# driver) and Neutron (ML2, agentless binding). Sourced by up.sh after lib/common.sh.

authtoken(){ cat <<EOF2
[keystone_authtoken]
www_authenticate_uri = http://127.0.0.1:$KEYSTONE_PORT
auth_url = http://127.0.0.1:$KEYSTONE_PORT
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = service
username = $1
password = $SVC_PW
EOF2
}
svcauth(){ # user region
  cat <<EOF2
auth_url = http://127.0.0.1:$KEYSTONE_PORT
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = service
username = $1
password = $SVC_PW
region_name = $2
EOF2
}

other_site(){ case $1 in site-a) echo site-b;; *) echo site-a;; esac; }

configure_site(){
  local s=$1 E=$BASE/etc/$1 D=$BASE/data/$1
  local TURL="rabbit://openstack:$RABBIT_PW@127.0.0.1:5672/$s"
  mkdir -p $E/{cinder,glance,nova,placement,neutron/plugins/ml2} $D/{volumes,cinder/locks,glance/{images,staging,tasks,locks},nova/locks,placement,neutron/locks}

  # Every database lives in the harness's MariaDB (lib/mariadb.sh), one per
  # service and site: site_a_cinder, site_b_nova_api, ...

  # ---- glance
  cp $BASE/venv/etc/glance/glance-api-paste.ini $E/glance/
  cat >$E/glance/glance-api.conf <<EOF2
[DEFAULT]
log_dir = $BASE/log
log_file = $s-glance-api.log
enabled_backends = local:file
[database]
connection = $(db_url $(db_name $s glance))
[glance_store]
default_backend = local
[local]
filesystem_store_datadir = $D/glance/images
[os_glance_staging_store]
filesystem_store_datadir = $D/glance/staging
[os_glance_tasks_store]
filesystem_store_datadir = $D/glance/tasks
$(authtoken glance)
[paste_deploy]
flavor = keystone
[oslo_concurrency]
lock_path = $D/glance/locks
EOF2
  $V/glance-manage --config-file $E/glance/glance-api.conf db_sync >>$BASE/log/manage.out 2>&1

  # ---- cinder
  local C=$E/cinder/cinder.conf
  cat >$C <<EOF2
[DEFAULT]
transport_url = $TURL
auth_strategy = keystone
enabled_backends = file
default_volume_type = __DEFAULT__
default_group_type = consistent
state_path = $D/cinder
log_dir = $BASE/log
my_ip = 127.0.0.1
host = $s
api_paste_config = $BASE/venv/etc/cinder/api-paste.ini
rootwrap_config = $BASE/venv/etc/cinder/rootwrap.conf
glance_api_servers = http://127.0.0.1:$(port $s glance)
# Both sites back up into one directory (think: an NFS share both sites
# mount), so site-b can import and restore site-a's backups with site-a gone.
backup_driver = cinder.backup.drivers.posix.PosixBackupDriver
backup_posix_path = $BASE/data/backups
backup_workers = 1
# zstd, not the default zlib: zlib spends about 8 s of CPU per GiB even on
# zeros, and the backups of a protect were most of the real-OpenStack phase;
# zstd (pinned in constraints.txt) compresses the same GiB in about 1.3 s.
# Operators set the same option; the API and the backup records do not
# change with it.
backup_compression_algorithm = zstd
# sha256 per 4 MiB instead of 32 KiB: far fewer Python iterations per GiB
# (incremental backups then compare 4 MiB blocks). The object size must be a
# multiple of it: 64 MiB objects. (cinder-backup holds an object in memory,
# and more while compressing it: with 1 GiB objects and four backups at once
# it grew past 4 GB of RSS.)
backup_sha_block_size_bytes = 4194304
backup_file_size = 67108864
# A DR run makes, per production volume, a snapshot, a temporary volume, a
# backup and (at the other site) a restored volume: Cinder's default quota of
# 10 volumes per project is too small even for the 6-volume demo.
quota_volumes = 200
quota_snapshots = 200
quota_gigabytes = 2000
quota_backups = 200
quota_backup_gigabytes = 2000
quota_groups = 50
osapi_volume_workers = 1
[database]
connection = $(db_url $(db_name $s cinder))
$(authtoken cinder)
[nova]
$(svcauth nova $s)
[oslo_concurrency]
lock_path = $D/cinder/locks
[coordination]
backend_url = file://$D/cinder/coord
[privsep_osbrick]
helper_command = $V/privsep-helper --config-file $C
[cinder_sys_admin]
helper_command = $V/privsep-helper --config-file $C
[file]
volume_driver = lifeboat_filedriver.FileBackedDriver
volume_backend_name = file
# Option 3: volumes of a replication-enabled type are mirrored into the other
# site's volume dir, where that site's Cinder can manage them.
replication_device = backend_id:$(other_site $s),volume_dir:$BASE/data/$(other_site $s)/volumes
EOF2
  $V/cinder-manage --config-file $C db sync >>$BASE/log/manage.out 2>&1

  # ---- neutron: ML2 with the agentless mechanism driver (drivers/lifeboat_mech.py),
  # project networks on vxlan, the external network `public` on a flat physnet,
  # the L3 plugin for routers and floating IPs (no agents: the API and the IPAM
  # are real; nothing forwards packets). No RPC server: no agent to talk to.
  cp $BASE/venv/etc/neutron/api-paste.ini $E/neutron/
  cat >$E/neutron/neutron.conf <<EOF2
[DEFAULT]
core_plugin = ml2
service_plugins = router
auth_strategy = keystone
api_paste_config = $E/neutron/api-paste.ini
state_path = $D/neutron
log_dir = $BASE/log
log_file = $s-neutron-api.log
host = $s-compute
rpc_workers = 0
rpc_state_report_workers = 0
transport_url = $TURL
allow_overlapping_ips = true
notify_nova_on_port_status_changes = true
notify_nova_on_port_data_changes = true
dhcp_agent_notification = false
[database]
connection = $(db_url $(db_name $s neutron))
$(authtoken neutron)
[nova]
$(svcauth nova $s)
[oslo_concurrency]
lock_path = $D/neutron/locks
EOF2
  cat >$E/neutron/plugins/ml2/ml2_conf.ini <<EOF2
[ml2]
type_drivers = flat,vxlan
project_network_types = vxlan
mechanism_drivers = lifeboat_agentless
extension_drivers = port_security,dns
[ml2_type_flat]
flat_networks = public
[ml2_type_vxlan]
vni_ranges = 1000:1999
[securitygroup]
enable_security_group = true
firewall_driver = noop
EOF2
  $V/neutron-db-manage --config-file $E/neutron/neutron.conf --config-file $E/neutron/plugins/ml2/ml2_conf.ini upgrade heads >>$BASE/log/manage.out 2>&1

  # ---- placement
  cat >$E/placement/placement.conf <<EOF2
[DEFAULT]
log_dir = $BASE/log
[placement_database]
connection = $(db_url $(db_name $s placement))
[api]
auth_strategy = keystone
$(authtoken placement)
EOF2
  OS_PLACEMENT_CONFIG_DIR=$E/placement $V/placement-manage --config-file $E/placement/placement.conf db sync >>$BASE/log/manage.out 2>&1

  # ---- nova
  local N=$E/nova/nova.conf
  cp $BASE/venv/etc/nova/api-paste.ini $E/nova/
  cat >$N <<EOF2
[DEFAULT]
transport_url = $TURL
compute_driver = lifeboat_fakevirt.UploadingFakeDriver
# Ports are bound by the agentless driver: nothing plugs a VIF to wait for.
vif_plugging_is_fatal = false
vif_plugging_timeout = 0
my_ip = 127.0.0.1
host = $s-compute
state_path = $D/nova
instances_path = $D/nova/instances
log_dir = $BASE/log
enabled_apis = osapi_compute
osapi_compute_workers = 1
[conductor]
workers = 1
[scheduler]
workers = 1
discover_hosts_in_cells_interval = 10
[api]
auth_strategy = keystone
[api_database]
connection = $(db_url $(db_name $s nova_api))
[database]
connection = $(db_url $(db_name $s nova))
$(authtoken nova)
service_token_roles_required = true
[service_user]
send_service_user_token = true
$(svcauth nova $s)
[placement]
$(svcauth placement $s)
[cinder]
os_region_name = $s
$(svcauth nova $s)
[neutron]
$(svcauth nova $s)
[glance]
region_name = $s
[oslo_concurrency]
lock_path = $D/nova/locks
[vnc]
enabled = false
[privsep]
helper_command = $V/privsep-helper --config-file $N
[privsep_osbrick]
helper_command = $V/privsep-helper --config-file $N
EOF2
  local NM="$V/nova-manage --config-file $N"
  { $NM api_db sync && $NM cell_v2 map_cell0 --database_connection "$(db_url $(db_name $s nova_cell0))" &&
    $NM cell_v2 create_cell --name cell1 && $NM db sync; } >>$BASE/log/manage.out 2>&1
}

start_site(){
  local s=$1 E=$BASE/etc/$1
  OS_NEUTRON_CONFIG_DIR=$E/neutron PYTHONPATH=$HERE/drivers wsgi_app $s $s-neutron-api $(port $s neutron) neutron.wsgi.api
  OS_GLANCE_CONFIG_DIR=$E/glance wsgi_app $s $s-glance-api $(port $s glance) glance.wsgi.api
  wsgi_app $s $s-cinder-api $(port $s cinder) cinder.wsgi.api $E/cinder/cinder.conf
  for d in scheduler volume backup; do
    LIFEBOAT_VOLUME_DIR=$BASE/data/$s/volumes PYTHONPATH=$HERE/drivers \
      start $s $s-cinder-$d $V/cinder-$d --config-file $E/cinder/cinder.conf --log-file $BASE/log/$s-cinder-$d.log
  done
  OS_PLACEMENT_CONFIG_DIR=$E/placement wsgi_app $s $s-placement-api $(port $s placement) placement.wsgi.api
  OS_NOVA_CONFIG_DIR=$E/nova wsgi_app $s $s-nova-api $(port $s nova) nova.wsgi.osapi_compute
  for d in conductor scheduler compute; do start $s $s-nova-$d $V/nova-$d --config-file $E/nova/nova.conf --log-file $BASE/log/$s-nova-$d.log; done
}
