#!/usr/bin/env bash
# The whole riverwatch stack on this machine, without Docker: Kafka and ClickHouse
# (infra.sh) plus every service binary from bin/, in the background with pid files.
#
# usage: deploy/local/stack.sh up|down|status|reset
#   up      build nothing (make up builds first); start infra, then the services in
#           pipeline order, each waited for on /readyz; RIVERWATCH_* variables are passed on
#   down    stop the services, then Kafka and ClickHouse; leaves no process behind
#   status  one line per component
#   reset   stop the services and delete riverwatch's data: every riverwatch.* topic and the
#           ClickHouse database; Kafka and ClickHouse keep running (make demo uses it to
#           start a story from an empty river)
#
# Each service talks to Kafka over the broker's SASL_SSL listener as its own SCRAM user,
# within the ACLs of kafka.sh (as in production), unless RIVERWATCH_KAFKA_BROKERS points it
# elsewhere; the simulator and the demo's narrator use the loopback PLAINTEXT listener.
#
# Service logs: $STATE_DIR/logs/<service>.log; pid files: $STATE_DIR/pids/<service>.pid.
set -euo pipefail

RW_NAME=stack
# shellcheck source-path=SCRIPTDIR source=env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
# Development mode: the services run with the repository's public development tokens,
# secrets and station passwords, which production mode (the binaries' default) refuses.
export RIVERWATCH_MODE="${RIVERWATCH_MODE:-development}"

ROOT="$(cd "$RW_LOCAL_DIR/../.." && pwd)"
BIN="${RIVERWATCH_BIN_DIR:-$ROOT/bin}"
CONFIG="${RIVERWATCH_CONFIG:-$ROOT/configs/riverwatch.yaml}"

# name:readiness-port, in start order (the archiver creates the schema the api reads).
SERVICES=(archiver:8084 gateway:8081 assessor:8082 responder:8083 api:8080)

port_of() {
  local name=$1 upper
  upper=$(tr '[:lower:]' '[:upper:]' <<<"$name")
  local var="RIVERWATCH_${upper}_LISTEN"
  local listen="${!var:-}"
  if [[ -n $listen ]]; then
    echo "${listen##*:}"
  else
    echo "$2"
  fi
}

# secure_kafka: the services use the SASL_SSL listener: nobody pointed them elsewhere, and
# the broker is ours (kafka.sh made its users; a broker of someone else's has none).
secure_kafka() { [[ -z ${RIVERWATCH_KAFKA_BROKERS:-} && -s $STATE_DIR/kafka/scram-users ]]; }

start_service() {
  local name=$1 port=$2 pidfile="$PID_DIR/$1.pid" log="$LOG_DIR/$1.log" i
  if rw_pid_of "$pidfile" "$BIN/$name" >/dev/null; then
    rw_log "$name already running"
    return 0
  fi
  [[ -x $BIN/$name ]] || rw_die "$BIN/$name is missing: run make build"
  local env=()
  # The api reads with its own read-only ClickHouse account (docs/security.md, L6) when
  # clickhouse.sh made it and the stack uses the database that account may read.
  local api_pw="$STATE_DIR/clickhouse/passwords/riverwatch_api"
  if [[ $name == api && -z ${RIVERWATCH_API_CLICKHOUSE_USERNAME:-} && -r $api_pw &&
    ${RIVERWATCH_CLICKHOUSE_DATABASE:-riverwatch} == riverwatch ]]; then
    env=(RIVERWATCH_API_CLICKHOUSE_USERNAME=riverwatch_api "RIVERWATCH_API_CLICKHOUSE_PASSWORD_FILE=$api_pw")
  fi
  if secure_kafka; then
    local kafka
    kafka=$("$RW_LOCAL_DIR/kafka.sh" client-config "$name") || rw_die "no Kafka user for $name"
    mapfile -t -O "${#env[@]}" env <<<"$kafka"
  fi
  (
    cd "$ROOT"
    ((${#env[@]} == 0)) || export "${env[@]}"
    rw_spawn "$pidfile" "$log" "$BIN/$name" -config "$CONFIG"
  )
  for ((i = 0; i < 600; i++)); do
    if curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then
      rw_log "$name ready on :$port (pid $(<"$pidfile"), log $log)"
      return 0
    fi
    if ! rw_pid_of "$pidfile" "$BIN/$name" >/dev/null; then
      rw_tail "$log"
      rw_die "$name exited during start"
    fi
    sleep 0.1
  done
  rw_tail "$log"
  rw_die "$name did not become ready on :$port within 60 s"
}

cmd=${1:-}
case $cmd in
up)
  rw_mkdirs
  "$RW_LOCAL_DIR/infra.sh" up
  if secure_kafka; then "$RW_LOCAL_DIR/kafka.sh" acls riverwatch; fi
  for s in "${SERVICES[@]}"; do
    start_service "${s%%:*}" "$(port_of "${s%%:*}" "${s##*:}")"
  done
  ;;
down)
  rw_mkdirs
  for ((i = ${#SERVICES[@]} - 1; i >= 0; i--)); do
    name=${SERVICES[i]%%:*}
    rw_stop "$name" "$PID_DIR/$name.pid" "$BIN/$name" 20
  done
  for extra in simulator sink; do
    rw_stop "$extra" "$PID_DIR/$extra.pid" "$BIN/simulator" 10
  done
  "$RW_LOCAL_DIR/infra.sh" down
  ;;
reset)
  rw_mkdirs
  for ((i = ${#SERVICES[@]} - 1; i >= 0; i--)); do
    name=${SERVICES[i]%%:*}
    rw_stop "$name" "$PID_DIR/$name.pid" "$BIN/$name" 20
  done
  db="${RIVERWATCH_CLICKHOUSE_DATABASE:-riverwatch}"
  rw_log "dropping ClickHouse database $db"
  "$RW_LOCAL_DIR/clickhouse.sh" client -q "DROP DATABASE IF EXISTS \`$db\`"
  topics=("${RW_TOPICS[@]}" riverwatch.assessor-state riverwatch.responder-state riverwatch.archiver-rollups)
  rw_log "deleting Kafka topics ${topics[*]}"
  list() { "$RW_LOCAL_DIR/kafka.sh" tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$RW_HOST:$KAFKA_PORT" --list 2>/dev/null; }
  for t in "${topics[@]}"; do
    if list | grep -qx "$t"; then
      "$RW_LOCAL_DIR/kafka.sh" tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$RW_HOST:$KAFKA_PORT" \
        --delete --topic "$t" >/dev/null 2>&1 || rw_die "could not delete topic $t"
    fi
  done
  # Deletion is asynchronous: recreate only once the broker has forgotten the topics.
  for ((i = 0; i < 120; i++)); do
    left=$(list | grep -cxF -f <(printf '%s\n' "${topics[@]}") || true)
    ((left == 0)) && break
    sleep 0.5
  done
  ((left == 0)) || rw_die "Kafka still lists $left riverwatch topics after 60 s"
  "$RW_LOCAL_DIR/kafka.sh" topics
  ;;
status)
  "$RW_LOCAL_DIR/infra.sh" status || true
  for s in "${SERVICES[@]}"; do
    name=${s%%:*}
    if pid=$(rw_pid_of "$PID_DIR/$name.pid" "$BIN/$name"); then
      echo "$name: running (pid $pid)"
    else
      echo "$name: stopped"
    fi
  done
  ;;
*)
  echo "usage: $0 up|down|status" >&2
  exit 2
  ;;
esac
