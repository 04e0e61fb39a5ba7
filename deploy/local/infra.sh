#!/usr/bin/env bash
# Kafka and ClickHouse together, for `make test`, `make up`, CI and benchmarks.
#
# usage: deploy/local/infra.sh COMMAND
#   up                    install ClickHouse if missing, start what is not running, create the
#                         contract topics, print the endpoints; records what this run started
#   down                  stop both servers (ours; a server these scripts did not start is left)
#                         and the local cluster if it runs
#   down --started-only   stop only what the last `up` started itself, e.g. in `make test`:
#                           deploy/local/infra.sh up
#                           trap 'deploy/local/infra.sh down --started-only' EXIT
#   status                exit 0 iff both are running
#
# With RIVERWATCH_CLUSTER=1, up, down and status start, stop and check the local cluster of
# cluster.sh (three brokers, ZooKeeper, two ClickHouse replicas) instead of the single-node
# servers, in its "front" layout: its first ClickHouse replica answers on the single-node
# ports (9000, 8123), so every client and script works unchanged; the services reach its
# brokers through env.sh's rw_cluster_env (stack.sh).
#
# The record is STATE_DIR/infra.started and holds what the most recent `up` started: an `up`
# that finds everything running empties it, so a test run never stops servers a developer
# started before it. All settings come from env.sh (ports, state dir, KAFKA_VERSION, ...).
set -euo pipefail

RW_NAME=infra
# shellcheck source-path=SCRIPTDIR source=env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

RECORD="$STATE_DIR/infra.started"
SERVICES=(clickhouse kafka) # start order; stopped in reverse

usage() {
  sed -n '/^# usage:/,/^# The record/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
  exit 2
}

svc() { "$RW_LOCAL_DIR/$1.sh" "${@:2}"; }

cmd_up() {
  local t0 s
  t0=$(rw_now_ms)
  rw_mkdirs
  : >"$RECORD"
  local -a started=() found=()
  local result
  result=$(mktemp "$STATE_DIR/.start-result.XXXXXX")
  # shellcheck disable=SC2064 # expand now: the path is fixed
  trap "rm -f '$result'" EXIT
  svc clickhouse install
  if [[ ${RIVERWATCH_CLUSTER:-0} == 1 ]]; then
    # Recorded before it starts, so a failed start is still cleaned up.
    svc cluster status >/dev/null 2>&1 || { echo cluster >>"$RECORD" && started+=(cluster); }
    RIVERWATCH_CLUSTER_LAYOUT=front svc cluster up
    svc cluster topics
    rw_log "riverwatch local cluster is up ($(($(rw_now_ms) - t0)) ms), started now: ${started[*]:-nothing}"
    return 0
  fi
  for s in "${SERVICES[@]}"; do
    # `start` itself says, under its lock, whether it started the server: deciding from a
    # `status` beforehand would let two concurrent `up`s both believe they started it.
    : >"$result"
    if ! RW_START_RESULT=$result svc "$s" start; then
      [[ $(<"$result") == started ]] && echo "$s" >>"$RECORD"
      rw_die "$s did not start"
    fi
    if [[ $(<"$result") == started ]]; then
      echo "$s" >>"$RECORD" # at once, so a later failure still lets `down --started-only` clean up
      started+=("$s")
    else
      found+=("$s")
    fi
  done
  svc kafka topics
  cat <<EOF
riverwatch local infrastructure is up ($(($(rw_now_ms) - t0)) ms)
  started now:      ${started[*]:-nothing}
  already running:  ${found[*]:-nothing}
  kafka             $RW_HOST:$KAFKA_PORT (controller $KAFKA_CONTROLLER_PORT), topics: ${RW_TOPICS[*]}
  clickhouse        $RW_HOST:$CLICKHOUSE_TCP_PORT (native), http://$RW_HOST:$CLICKHOUSE_HTTP_PORT
  state and logs    $STATE_DIR ($LOG_DIR)
  for the services  RIVERWATCH_KAFKA_BROKERS=$RW_HOST:$KAFKA_PORT RIVERWATCH_CLICKHOUSE_ADDR=$RW_HOST:$CLICKHOUSE_TCP_PORT
EOF
}

cmd_down() {
  local only=0 s i
  case ${1:-} in
  --started-only) only=1 ;;
  "") ;;
  *) usage ;;
  esac
  rw_mkdirs
  local -a targets=()
  if ((only)); then
    [[ -f $RECORD ]] && mapfile -t targets <"$RECORD"
    ((${#targets[@]})) || rw_log "the last 'up' started nothing: leaving the servers as they are"
  else
    targets=("${SERVICES[@]}")
    targets+=(cluster) # stopped whatever RIVERWATCH_CLUSTER says: a no-op when it is down
  fi
  for ((i = ${#targets[@]} - 1; i >= 0; i--)); do
    s=${targets[i]}
    case $s in clickhouse | kafka) svc "$s" stop ;; cluster) svc cluster down ;; *) rw_log "ignoring '$s' in $RECORD" ;; esac
  done
  rm -f "$RECORD"
}

cmd_status() {
  local rc=0 s
  if [[ ${RIVERWATCH_CLUSTER:-0} == 1 ]]; then
    svc cluster status
    return
  fi
  for s in "${SERVICES[@]}"; do
    svc "$s" status || rc=1
  done
  return "$rc"
}

main() {
  (($# >= 1)) || usage
  local cmd=$1
  shift
  case $cmd in
  up) cmd_up ;;
  down) cmd_down "$@" ;;
  status) cmd_status ;;
  *) usage ;;
  esac
}

main "$@"
