# start_mariadb / db_url: the database server every service keeps its state
# in. Sourced by up.sh after lib/common.sh.
#
# MariaDB (Debian's mariadb-server, 10.11) with PyMySQL is what OpenStack
# itself deploys and tests with (devstack's default). It runs as our own
# instance: its data dir BASE/data/mariadb, TCP 127.0.0.1:$DB_PORT only, a
# socket under BASE/run; started in its own process group, recorded in
# BASE/run/shared/mariadb.pid and stopped by down.sh like every other process.
# (sqlite, used before, failed CI twice in three runs: several processes write
# each database file, and under load Cinder's quota reservations and
# cinder-volume's start-up died with "database is locked".)

DB_PORT=13306
DB_USER=openstack DB_PW=dbpass

# db_url NAME: the SQLAlchemy URL of one database (utf8, as devstack writes it)
db_url(){ echo "mysql+pymysql://$DB_USER:$DB_PW@127.0.0.1:$DB_PORT/$1?charset=utf8"; }

# db_name SITE SERVICE: site-a nova_api -> site_a_nova_api
db_name(){ echo "${1//-/_}_$2"; }

start_mariadb(){
  local D=$BASE/data/mariadb C=$BASE/etc/mariadb.cnf
  mkdir -p "$D"
  # A test rig: durability traded for speed (no fsync per commit, no binlog).
  cat >"$C" <<EOF2
[mysqld]
datadir = $D
socket = $BASE/run/mariadb.sock
pid-file = $BASE/data/mariadb.pid
port = $DB_PORT
bind-address = 127.0.0.1
skip-networking = 0
skip-name-resolve
skip-log-bin
max_connections = 1000
character-set-server = utf8mb3
collation-server = utf8mb3_general_ci
innodb_buffer_pool_size = 256M
innodb_log_file_size = 64M
innodb_flush_log_at_trx_commit = 2
innodb_flush_method = O_DIRECT_NO_FSYNC
sync_binlog = 0
performance_schema = off
log-error = $BASE/log/mariadb.err
[client]
socket = $BASE/run/mariadb.sock
EOF2
  mariadb-install-db --defaults-file="$C" --user=root --auth-root-authentication-method=socket \
    --skip-test-db >>"$BASE/log/mariadb-install.out" 2>&1 || die "mariadb-install-db failed (log/mariadb-install.out)"
  start shared mariadb /usr/sbin/mariadbd --defaults-file="$C" --user=root
  local i
  for i in $(seq 1 120); do
    mariadb-admin --defaults-file="$C" ping >/dev/null 2>&1 && break
    kill -0 "$(cat "$BASE/run/shared/mariadb.pid")" 2>/dev/null || die "mariadbd died at start (log/mariadb.err)"
    sleep 0.5
  done
  mariadb-admin --defaults-file="$C" ping >/dev/null 2>&1 || die "mariadbd did not answer in 60 s (log/mariadb.err)"
  local sql="CREATE USER '$DB_USER'@'127.0.0.1' IDENTIFIED BY '$DB_PW';"
  local db
  for db in keystone designate $(for s in $SITES; do for x in glance cinder placement nova_api nova nova_cell0 neutron; do db_name $s $x; done; done); do
    sql="$sql CREATE DATABASE $db; GRANT ALL ON $db.* TO '$DB_USER'@'127.0.0.1';"
  done
  mariadb --defaults-file="$C" -u root -e "$sql" || die "creating the databases failed"
}
