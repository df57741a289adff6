#!/usr/bin/env bash
# Real services for liftmeter's tests and local runs, on 127.0.0.1, without Docker:
#   PostgreSQL 15 from Debian's packages (a throwaway cluster in /var/tmp, trust auth,
#   port 5544) and
#   Apache Kafka 4.3.1 (single node, KRaft) from Maven Central, run with Java 17 (port 19092).
#
# usage: scripts/services.sh up|down|status [postgres|kafka|all]
# Idempotent: `up` starts what is not running, `down` stops by the recorded pid only.
# Environment: LIFTMETER_SERVICES_DIR (Kafka state; default ./var/services), LIFTMETER_PG_DATA
#              (default /var/tmp/liftmeter-postgres-<port>), LIFTMETER_PG_PORT,
#              LIFTMETER_KAFKA_PORT, LIFTMETER_KAFKA_CONTROLLER_PORT.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
STATE=${LIFTMETER_SERVICES_DIR:-$ROOT/var/services}
PG_PORT=${LIFTMETER_PG_PORT:-5544}
KAFKA_PORT=${LIFTMETER_KAFKA_PORT:-19092}
KAFKA_CPORT=${LIFTMETER_KAFKA_CONTROLLER_PORT:-19093}
KAFKA_HOME=$ROOT/scripts/kafka
KAFKA_VERSION=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$KAFKA_HOME/pom.xml")
KAFKA_LIB=$KAFKA_HOME/lib/$KAFKA_VERSION
# Outside the checkout: the server runs as the postgres user, which may not be able to
# traverse the checkout's parent folders (a CI clone in a private temporary folder).
PG_DATA=${LIFTMETER_PG_DATA:-/var/tmp/liftmeter-postgres-$PG_PORT}
KAFKA_DIR=$STATE/kafka

log() { printf '[services] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

apt_install() {
  log "installing Debian packages: $*"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -q --no-install-recommends "$@" >/dev/null 2>&1; then
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends "$@" >/dev/null
  fi
}

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

# Runs a command as the postgres user (the server refuses to run as root).
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

postgres_up() {
  [ -n "$(pg_bin)" ] || apt_install postgresql
  local bin; bin=$(pg_bin)
  if as_pg "$bin/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1 \
     || "$bin/pg_isready" -h 127.0.0.1 -p "$PG_PORT" -q; then
    log "postgres already running on 127.0.0.1:$PG_PORT"; return
  fi
  mkdir -p "$STATE"
  if [ ! -s "$PG_DATA/PG_VERSION" ]; then
    mkdir -p "$PG_DATA"
    [ "$(id -u)" = 0 ] && chown -R postgres:postgres "$PG_DATA"
    as_pg "$bin/initdb" -D "$PG_DATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    cat >>"$PG_DATA/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_DATA'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
shared_buffers = 256MB
CONF
  fi
  # Directories above the data dir must be traversable by postgres.
  as_pg "$bin/pg_ctl" -D "$PG_DATA" -l "$PG_DATA/server.log" -w -t 60 start >/dev/null \
    || { tail -n 20 "$PG_DATA/server.log" >&2; die "postgres did not start"; }
  "$bin/pg_isready" -h 127.0.0.1 -p "$PG_PORT" -q || die "postgres not ready"
  log "postgres up on 127.0.0.1:$PG_PORT"
}

postgres_down() {
  local bin; bin=$(pg_bin)
  [ -n "$bin" ] && [ -s "$PG_DATA/postmaster.pid" ] || { log "postgres not running"; return; }
  as_pg "$bin/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null || true
  log "postgres stopped"
}

kafka_jars() {
  if [ ! -f "$KAFKA_LIB/kafka_2.13-$KAFKA_VERSION.jar" ]; then
    command -v mvn >/dev/null || apt_install maven
    log "fetching the Kafka $KAFKA_VERSION broker jars from Maven Central"
    mvn -q -B -f "$KAFKA_HOME/pom.xml" package >/dev/null
  fi
}

kafka_pid() { [ -s "$KAFKA_DIR/kafka.pid" ] && cat "$KAFKA_DIR/kafka.pid"; }

kafka_running() { local pid; pid=$(kafka_pid) && kill -0 "$pid" 2>/dev/null; }

kafka_config() {
  mkdir -p "$KAFKA_DIR/data"
  cat >"$KAFKA_DIR/server.properties" <<CONF
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$KAFKA_CPORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CPORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CPORT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KAFKA_DIR/data
num.partitions=4
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
group.min.session.timeout.ms=1000
num.network.threads=2
num.io.threads=4
auto.create.topics.enable=false
log.retention.hours=-1
CONF
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

kafka_up() {
  if kafka_running || port_open "$KAFKA_PORT"; then
    log "kafka already running on 127.0.0.1:$KAFKA_PORT"; return
  fi
  command -v java >/dev/null || apt_install openjdk-17-jre-headless
  kafka_jars
  kafka_config
  local java_opts="-Dlog4j2.configurationFile=$KAFKA_HOME/log4j2.properties -Djava.io.tmpdir=$KAFKA_DIR"
  if [ ! -f "$KAFKA_DIR/data/meta.properties" ]; then
    local cluster_id
    cluster_id=$(python3 -c 'import base64,os;print(base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("="))')
    java -Xmx256m $java_opts -cp "$KAFKA_LIB/*" kafka.tools.StorageTool format --standalone \
      -t "$cluster_id" -c "$KAFKA_DIR/server.properties" >"$KAFKA_DIR/format.log" 2>&1 \
      || { cat "$KAFKA_DIR/format.log" >&2; die "kafka storage format failed"; }
  fi
  : >"$KAFKA_DIR/kafka.log"
  nohup java -Xms256m -Xmx1g -XX:+UseG1GC $java_opts -cp "$KAFKA_LIB/*" kafka.Kafka \
    "$KAFKA_DIR/server.properties" >>"$KAFKA_DIR/kafka.log" 2>&1 &
  echo $! >"$KAFKA_DIR/kafka.pid"
  local waited=0
  until grep -q "Kafka Server started" "$KAFKA_DIR/kafka.log"; do
    kafka_running || { tail -n 30 "$KAFKA_DIR/kafka.log" >&2; die "kafka exited at start"; }
    [ "$waited" -lt 120 ] || { tail -n 30 "$KAFKA_DIR/kafka.log" >&2; die "kafka not started in 120 s"; }
    sleep 1; waited=$((waited + 1))
  done
  log "kafka $KAFKA_VERSION up on 127.0.0.1:$KAFKA_PORT (${waited}s)"
}

kafka_down() {
  local pid; pid=$(kafka_pid) || { log "kafka not running"; return; }
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    log "kafka stopped"
  fi
  rm -f "$KAFKA_DIR/kafka.pid"
}

status() {
  local bin; bin=$(pg_bin)
  if [ -n "$bin" ] && "$bin/pg_isready" -h 127.0.0.1 -p "$PG_PORT" -q; then
    echo "postgres: up (postgresql+psycopg://postgres@127.0.0.1:$PG_PORT/postgres)"
  else echo "postgres: down"; fi
  if kafka_running; then echo "kafka: up (127.0.0.1:$KAFKA_PORT, pid $(kafka_pid))"
  elif port_open "$KAFKA_PORT"; then echo "kafka: up (127.0.0.1:$KAFKA_PORT, not started here)"
  else echo "kafka: down"; fi
}

action=${1:-status}; what=${2:-all}
case "$action:$what" in
  up:postgres) postgres_up ;;
  up:kafka) kafka_up ;;
  up:all) postgres_up; kafka_up ;;
  down:postgres) postgres_down ;;
  down:kafka) kafka_down ;;
  down:all) kafka_down; postgres_down ;;
  status:*) status ;;
  *) echo "usage: $0 up|down|status [postgres|kafka|all]" >&2; exit 2 ;;
esac
