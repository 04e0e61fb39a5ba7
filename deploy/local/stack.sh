#!/usr/bin/env bash
# The whole riverwatch stack on this machine, without Docker: Kafka and ClickHouse
# (infra.sh) plus every service binary from bin/, in the background with pid files.
#
# usage: deploy/local/stack.sh up|down|status|reset|restart NAME[-2]
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
# With RIVERWATCH_CLUSTER=1 the stack runs on the local cluster instead (infra.sh, cluster.sh's
# front layout: three brokers, two ClickHouse replicas on ZooKeeper), every service in two
# replicas: the first on the usual ports, the second on SECOND_PORTS (the gateway's stations
# on 9312, its HTTP on 8181, the api on 8180, the ops ports 8182-8184), plaintext Kafka on
# loopback. docs/scaling.md.
#
# Service logs: $STATE_DIR/logs/<service>[-2].log; pid files: $STATE_DIR/pids/<service>[-2].pid.
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
# The second replica's listen addresses in cluster mode (name:VAR=ADDR,...).
SECOND_PORTS=(
  archiver:RIVERWATCH_ARCHIVER_LISTEN=127.0.0.1:8184
  gateway:RIVERWATCH_GATEWAY_LISTEN=:8181,RIVERWATCH_GATEWAY_HJ212_LISTEN=:9312
  assessor:RIVERWATCH_ASSESSOR_LISTEN=127.0.0.1:8182
  responder:RIVERWATCH_RESPONDER_LISTEN=127.0.0.1:8183
  api:RIVERWATCH_API_LISTEN=:8180
)
rw_cluster_env
cluster_mode() { [[ ${RIVERWATCH_CLUSTER:-0} == 1 ]]; }

# second_env NAME: the second replica's VAR=ADDR settings, one per line.
second_env() {
  local e
  for e in "${SECOND_PORTS[@]}"; do
    [[ ${e%%:*} == "$1" ]] && tr ',' '\n' <<<"${e#*:}"
  done
}

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

# start_service NAME PORT [INSTANCE VAR=VALUE...]: start one replica of a service (INSTANCE
# "2": the second, with its own pid file, log and settings) and wait for its /readyz.
start_service() {
  local name=$1 port=$2 instance=${3:-} i
  local id=$name${instance:+-$instance}
  local pidfile="$PID_DIR/$id.pid" log="$LOG_DIR/$id.log"
  if rw_pid_of "$pidfile" "$BIN/$name" >/dev/null; then
    rw_log "$id already running"
    return 0
  fi
  [[ -x $BIN/$name ]] || rw_die "$BIN/$name is missing: run make build"
  local env=("${@:4}")
  # The api reads with its own read-only ClickHouse account (docs/security.md, L6) when
  # clickhouse.sh made it and the stack uses the database that account may read.
  local api_pw="$STATE_DIR/clickhouse/passwords/riverwatch_api"
  # (Not on the cluster: its replicas have no such account.)
  if [[ $name == api && -z ${RIVERWATCH_API_CLICKHOUSE_USERNAME:-} && -r $api_pw &&
    ${RIVERWATCH_CLICKHOUSE_DATABASE:-riverwatch} == riverwatch ]] && ! cluster_mode; then
    env+=(RIVERWATCH_API_CLICKHOUSE_USERNAME=riverwatch_api "RIVERWATCH_API_CLICKHOUSE_PASSWORD_FILE=$api_pw")
  fi
  # The responder's upstream source ranking (docs/sources.md) reads with the same account.
  if [[ $name == responder && -z ${RIVERWATCH_RESPONDER_CLICKHOUSE_USERNAME:-} && -r $api_pw &&
    ${RIVERWATCH_CLICKHOUSE_DATABASE:-riverwatch} == riverwatch ]] && ! cluster_mode; then
    env+=(RIVERWATCH_RESPONDER_CLICKHOUSE_USERNAME=riverwatch_api "RIVERWATCH_RESPONDER_CLICKHOUSE_PASSWORD_FILE=$api_pw")
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
      rw_log "$id ready on :$port (pid $(<"$pidfile"), log $log)"
      return 0
    fi
    if ! rw_pid_of "$pidfile" "$BIN/$name" >/dev/null; then
      rw_tail "$log"
      rw_die "$id exited during start"
    fi
    sleep 0.1
  done
  rw_tail "$log"
  rw_die "$id did not become ready on :$port within 60 s"
}

cmd=${1:-}
case $cmd in
up)
  rw_mkdirs
  "$RW_LOCAL_DIR/infra.sh" up
  if secure_kafka; then "$RW_LOCAL_DIR/kafka.sh" acls riverwatch; fi
  for s in "${SERVICES[@]}"; do
    start_service "${s%%:*}" "$(port_of "${s%%:*}" "${s##*:}")"
    if cluster_mode; then
      mapfile -t second < <(second_env "${s%%:*}")
      listen=${second[0]#*=}
      start_service "${s%%:*}" "${listen##*:}" 2 "${second[@]}"
    fi
  done
  ;;
restart)
  # restart NAME[-2]: stop one replica (TERM) and start it again, waiting for /readyz (the
  # rolling-restart test).
  id=${2:?restart NAME[-2]}
  name=${id%-2}
  rw_stop "$id" "$PID_DIR/$id.pid" "$BIN/$name" 20
  for s in "${SERVICES[@]}"; do
    [[ ${s%%:*} == "$name" ]] || continue
    if [[ $id == "$name" ]]; then
      start_service "$name" "$(port_of "$name" "${s##*:}")"
    else
      mapfile -t second < <(second_env "$name")
      listen=${second[0]#*=}
      start_service "$name" "${listen##*:}" 2 "${second[@]}"
    fi
  done
  ;;
down)
  rw_mkdirs
  for ((i = ${#SERVICES[@]} - 1; i >= 0; i--)); do
    name=${SERVICES[i]%%:*}
    rw_stop "$name-2" "$PID_DIR/$name-2.pid" "$BIN/$name" 20 # a no-op unless in cluster mode
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
    rw_stop "$name-2" "$PID_DIR/$name-2.pid" "$BIN/$name" 20
    rw_stop "$name" "$PID_DIR/$name.pid" "$BIN/$name" 20
  done
  db="${RIVERWATCH_CLICKHOUSE_DATABASE:-riverwatch}"
  rw_log "dropping ClickHouse database $db"
  bootstrap=$RW_HOST:$KAFKA_PORT
  if cluster_mode; then
    "$RW_LOCAL_DIR/cluster.sh" client -q "DROP DATABASE IF EXISTS \`$db\` ON CLUSTER riverwatch"
    bootstrap=${RIVERWATCH_KAFKA_BROKERS%%,*}
  else
    "$RW_LOCAL_DIR/clickhouse.sh" client -q "DROP DATABASE IF EXISTS \`$db\`"
  fi
  topics=("${RW_TOPICS[@]}" riverwatch.assessor-state riverwatch.responder-state riverwatch.archiver-rollups)
  rw_log "deleting Kafka topics ${topics[*]}"
  list() { "$RW_LOCAL_DIR/kafka.sh" tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$bootstrap" --list 2>/dev/null; }
  for t in "${topics[@]}"; do
    if list | grep -qx "$t"; then
      "$RW_LOCAL_DIR/kafka.sh" tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$bootstrap" \
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
  if cluster_mode; then "$RW_LOCAL_DIR/cluster.sh" topics; else "$RW_LOCAL_DIR/kafka.sh" topics; fi
  ;;
status)
  "$RW_LOCAL_DIR/infra.sh" status || true
  for s in "${SERVICES[@]}"; do
    name=${s%%:*}
    ids=("$name")
    if cluster_mode; then ids+=("$name-2"); fi
    for id in "${ids[@]}"; do
      if pid=$(rw_pid_of "$PID_DIR/$id.pid" "$BIN/$name"); then
        echo "$id: running (pid $pid)"
      else
        echo "$id: stopped"
      fi
    done
  done
  ;;
*)
  echo "usage: $0 up|down|status|reset|restart NAME[-2]" >&2
  exit 2
  ;;
esac
