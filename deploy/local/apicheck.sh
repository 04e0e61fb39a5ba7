#!/usr/bin/env bash
# The OpenAPI document against the running api: schemathesis (from PyPI) generates requests
# from services/api/internal/api/openapi.json, sends them to a real api on real ClickHouse
# and Kafka, and fails on any server error or any answer the document does not describe
# (status code, content type, headers, body schema, a request the document forbids but the
# api accepts, a method it does not declare answered with anything but 405).
#
# usage: deploy/local/apicheck.sh     (make test runs it after the Go tests)
#
# Needs Kafka and ClickHouse running (deploy/local/infra.sh up). The api runs on a free
# port against a database and a commands topic of its own (apicheck_<id>, apicheck-<id>.*),
# both removed afterwards; nothing else is touched. schemathesis is installed once into a
# venv under RIVERWATCH_CACHE_DIR.
#
# Environment:
#   APICHECK_MAX_EXAMPLES   generated cases per operation and phase (default 10)
#   APICHECK_ARGS           extra `schemathesis run` flags, e.g. "--seed 1"
#   RIVERWATCH_*, KAFKA_PORT, CLICKHOUSE_TCP_PORT, ...  as for the other scripts (env.sh)
set -euo pipefail

RW_NAME=apicheck
# shellcheck source-path=SCRIPTDIR source=env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
ROOT="$(cd "$RW_LOCAL_DIR/../.." && pwd)"
cd "$ROOT"

SCHEMATHESIS_VERSION=4.32.5
VENV="$CACHE_DIR/schemathesis-$SCHEMATHESIS_VERSION"
if [[ ! -x $VENV/bin/schemathesis ]]; then
  rw_log "installing schemathesis $SCHEMATHESIS_VERSION into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet "schemathesis==$SCHEMATHESIS_VERSION"
fi

id="$(date +%s)_$$"
work=$(mktemp -d)
db="apicheck_$id"
topic="apicheck-$id.commands"
api_pid=""
topic_made=0
cleanup() {
  [[ -n $api_pid ]] && kill "$api_pid" 2>/dev/null && wait "$api_pid" 2>/dev/null
  "$RW_LOCAL_DIR/clickhouse.sh" client -q "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
  if ((topic_made)); then
    RW_KAFKA_QUICK_JVM=1 timeout 60 "$RW_LOCAL_DIR/kafka.sh" tool org.apache.kafka.tools.TopicCommand \
      --bootstrap-server "$RW_HOST:$KAFKA_PORT" --delete --topic "$topic" >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

rw_log "building api and archiver"
go build -o "$work/" ./services/api ./services/archiver

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export RIVERWATCH_KAFKA_BROKERS="$RW_HOST:$KAFKA_PORT"
export RIVERWATCH_CLICKHOUSE_ADDR="$RW_HOST:$CLICKHOUSE_TCP_PORT"
export RIVERWATCH_CLICKHOUSE_DATABASE="$db"
export RIVERWATCH_KAFKA_TOPICS_COMMANDS="$topic"
export RIVERWATCH_API_LISTEN="$RW_HOST:$port"
# Nothing applies the commands here: answer "pending" (202) quickly instead of after 5 s.
export RIVERWATCH_API_COMMAND_TIMEOUT=200ms
export RIVERWATCH_LOG_LEVEL=warn

rw_log "database $db, topic $topic, api on $RW_HOST:$port"
"$work/archiver" migrate >"$work/migrate.log" 2>&1 || { cat "$work/migrate.log" >&2; rw_die "migrate failed"; }
RW_KAFKA_QUICK_JVM=1 timeout 60 "$RW_LOCAL_DIR/kafka.sh" tool org.apache.kafka.tools.TopicCommand \
  --bootstrap-server "$RW_HOST:$KAFKA_PORT" --create --if-not-exists --topic "$topic" \
  --partitions 1 --replication-factor 1 >/dev/null || rw_die "could not create $topic"
topic_made=1

"$work/api" >"$work/api.log" 2>&1 &
api_pid=$!
base="http://$RW_HOST:$port"
for _ in $(seq 100); do
  curl -fs "$base/readyz" >/dev/null 2>&1 && break
  kill -0 "$api_pid" 2>/dev/null || { cat "$work/api.log" >&2; rw_die "the api exited"; }
  sleep 0.2
done
curl -fs "$base/readyz" >/dev/null || { cat "$work/api.log" >&2; rw_die "the api did not turn ready"; }

# The admin development token (configs/tokens.yaml) may call every operation.
rw_log "schemathesis run (${APICHECK_MAX_EXAMPLES:-10} examples per operation)"
status=0
# shellcheck disable=SC2086 # APICHECK_ARGS is a list of flags
"$VENV/bin/schemathesis" --config-file "$RW_LOCAL_DIR/schemathesis.toml" run "$base/api/v1/openapi.json" \
  --header "Authorization: Bearer dev-admin-token" \
  --checks all --max-examples "${APICHECK_MAX_EXAMPLES:-10}" --workers 2 \
  --request-timeout 10 --max-failures 100 --no-shrink --seed "${APICHECK_SEED:-20261202}" \
  --suppress-health-check all \
  --report junit --report-dir "$work/report" ${APICHECK_ARGS:-} || status=$?

if grep -q ' level=ERROR\|"level":"ERROR"' "$work/api.log"; then
  rw_log "the api logged errors:"
  grep ' level=ERROR\|"level":"ERROR"' "$work/api.log" | head -20 >&2
  status=1
fi
((status == 0)) || rw_die "the api does not do what openapi.json says (schemathesis exit $status)"
rw_log "the api matches openapi.json"
