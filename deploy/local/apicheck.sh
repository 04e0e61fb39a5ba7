#!/usr/bin/env bash
# The OpenAPI document against the running api: schemathesis (from PyPI) generates requests
# from services/api/internal/api/openapi.json, sends them to a real api on real ClickHouse
# and Kafka, and fails on any server error or any answer the document does not describe
# (status code, content type, headers, body schema, a request the document forbids but the
# api accepts, a method it does not declare answered with anything but 405).
#
# usage: deploy/local/apicheck.sh     (make test runs it after the Go tests)
#
# Needs Kafka and ClickHouse running (deploy/local/infra.sh up). The api, with a responder
# and an archiver behind it (so that commands are applied and a drill incident exists to
# act on), runs on free ports against a database and topics of its own (apicheck_<id>,
# apicheck-<id>.*), all removed afterwards; nothing else is touched. schemathesis is
# installed once into a venv under RIVERWATCH_CACHE_DIR; deploy/local/schemathesis.toml
# holds its settings. It also fails when the api logs an error. About 2.5 minutes.
#
# Environment:
#   APICHECK_MAX_EXAMPLES   generated cases per operation and phase (default 5)
#   APICHECK_SEED           schemathesis' random seed (default fixed, so runs repeat)
#   APICHECK_ARGS           extra `schemathesis run` flags, e.g. "--phases fuzzing"
#   RIVERWATCH_*, KAFKA_PORT, CLICKHOUSE_TCP_PORT, ...  as for the other scripts (env.sh)
set -euo pipefail

RW_NAME=apicheck
# shellcheck source-path=SCRIPTDIR source=env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
# Development mode: the services run with the repository's public development tokens,
# secrets and station passwords, which production mode (the binaries' default) refuses.
export RIVERWATCH_MODE="${RIVERWATCH_MODE:-development}"
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
prefix="apicheck-$id"
pids=()
topics_made=0
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  "$RW_LOCAL_DIR/clickhouse.sh" client -q "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
  if ((topics_made)); then
    RW_KAFKA_QUICK_JVM=1 timeout 60 "$RW_LOCAL_DIR/kafka.sh" tool org.apache.kafka.tools.TopicCommand \
      --bootstrap-server "$RW_HOST:$KAFKA_PORT" --delete --topic "${prefix//./\\.}\\..*" >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

rw_log "building api, responder and archiver"
go build -o "$work/" ./services/api ./services/responder ./services/archiver

# The services talk to Kafka as they do in production: over the SASL_SSL listener, each as
# its own SCRAM user, within the ACLs kafka.sh grants on this run's prefix.
"$RW_LOCAL_DIR/kafka.sh" acls "$prefix"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
export RIVERWATCH_KAFKA_PARTITIONS=1
export RIVERWATCH_KAFKA_GROUP_PREFIX="$prefix"
for t in readings rejected events incidents commands corrections; do
  export "RIVERWATCH_KAFKA_TOPICS_${t^^}=$prefix.$t"
done
export RIVERWATCH_KAFKA_TOPICS_STATION_COMMANDS="$prefix.station-commands"
export RIVERWATCH_KAFKA_TOPICS_RAW_FRAMES="$prefix.raw-frames"
export RIVERWATCH_RESPONDER_STATE_TOPIC="$prefix.responder-state"
export RIVERWATCH_ARCHIVER_ROLLUP_TOPIC="$prefix.archiver-rollups"
export RIVERWATCH_CLICKHOUSE_ADDR="$RW_HOST:$CLICKHOUSE_TCP_PORT"
export RIVERWATCH_CLICKHOUSE_DATABASE="$db"
export RIVERWATCH_API_LISTEN="$RW_HOST:$port"
export RIVERWATCH_RESPONDER_LISTEN="$RW_HOST:$(free_port)"
export RIVERWATCH_ARCHIVER_LISTEN="$RW_HOST:$(free_port)"
# Notifications go nowhere (a closed port); the responder retries them in the background.
export RIVERWATCH_RESPONDER_WEBHOOK_URL="http://$RW_HOST:$(free_port)/hook"
export RIVERWATCH_ARCHIVER_RECORDS_MAX_DELAY=50ms
# Most commands are not applied within this: they answer "pending" (202) instead of
# holding each generated request for 5 s.
export RIVERWATCH_API_COMMAND_TIMEOUT=50ms
# The fuzzer sends one token's requests as fast as it can: that is not a user's load, and
# positive_data_acceptance would count the 429s against the document. The limits have
# their own tests (services/api/internal/api/hardening_test.go).
export RIVERWATCH_API_RATE_LIMIT=1000000 RIVERWATCH_API_RATE_BURST=1000000 RIVERWATCH_API_MAX_INFLIGHT_PER_TOKEN=256
export RIVERWATCH_LOG_LEVEL=warn
# Evidence bundles are signed: with the development key the route answers its bundles
# instead of 503 no_signing_key.
eval "$("$RW_LOCAL_DIR/evidence-key.sh")"

rw_log "database $db, topics $prefix.*, api on $RW_HOST:$port"
RIVERWATCH_KAFKA_BROKERS="$RW_HOST:$KAFKA_PORT" "$work/archiver" migrate >"$work/migrate.log" 2>&1 || { cat "$work/migrate.log" >&2; rw_die "migrate failed"; }
# The responder creates the topics it uses; the archiver also reads these, and the api
# writes station commands (the gateway, which creates that topic and raw-frames, does not run here).
topics_made=1
for t in readings rejected corrections station-commands raw-frames; do
  RW_KAFKA_QUICK_JVM=1 timeout 60 "$RW_LOCAL_DIR/kafka.sh" tool org.apache.kafka.tools.TopicCommand \
    --bootstrap-server "$RW_HOST:$KAFKA_PORT" --create --if-not-exists --topic "$prefix.$t" \
    --partitions 1 --replication-factor 1 >/dev/null &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || rw_die "could not create the topics"; done
pids=()

# start NAME LISTEN: run a service in the background until its /readyz answers 200.
start() {
  local name=$1 listen=$2 kafka
  kafka=$("$RW_LOCAL_DIR/kafka.sh" client-config "$name") || rw_die "no Kafka user for $name"
  # shellcheck disable=SC2046 # one VAR=value word a line
  env $(printf '%s\n' "$kafka") "$work/$name" >"$work/$name.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 300); do
    curl -fs "http://$listen/readyz" >/dev/null 2>&1 && return 0
    kill -0 "${pids[-1]}" 2>/dev/null || { cat "$work/$name.log" >&2; rw_die "$name exited"; }
    sleep 0.2
  done
  cat "$work/$name.log" >&2
  rw_die "$name did not turn ready"
}
start responder "$RIVERWATCH_RESPONDER_LISTEN"
start archiver "$RIVERWATCH_ARCHIVER_LISTEN"
start api "$RIVERWATCH_API_LISTEN"
base="http://$RW_HOST:$port"
auth=(-H "Authorization: Bearer dev-admin-token")

# One incident to act on: a drill, through the api, the responder and the archiver.
curl -fsS "${auth[@]}" -H 'Content-Type: application/json' -d '{"site":"STH-S2","note":"apicheck"}' \
  "$base/api/v1/drills" >/dev/null || rw_die "the drill was refused"
incident=""
for _ in $(seq 150); do
  incident=$(curl -fsS "${auth[@]}" "$base/api/v1/incidents?limit=1" |
    python3 -c 'import json,sys; items=json.load(sys.stdin)["items"]; print(items[0]["id"] if items else "")')
  [[ -n $incident ]] && break
  sleep 0.2
done
[[ -n $incident ]] || rw_die "the drill's incident did not reach the api"

# The site ids of the network and the incident, for the generated requests to use often.
sites=$(sed -n '/^sites:/,$ s/^  - id: *\([A-Za-z0-9_-]*\).*/"\1"/p' configs/sites.yaml | paste -sd, -)
{
  cat "$RW_LOCAL_DIR/schemathesis.toml"
  printf '\n# Added by apicheck.sh for this run.\n[dictionaries.sites]\nvalues = [%s]\n' "$sites"
  printf '\n[dictionaries.incidents]\nvalues = ["%s"]\n' "$incident"
} >"$work/schemathesis.toml"
# One worker: with two, CPython 3.11's ast.parse (which hypothesis calls to describe
# strategies) can fail in both threads at once with "AST constructor recursion depth
# mismatch", a schemathesis runtime error that is no fault of the api.
rw_log "schemathesis run (${APICHECK_MAX_EXAMPLES:-5} examples per operation)"
status=0
# From the run's directory: schemathesis keeps its cache (.schemathesis/) in the current one.
cd "$work"
# shellcheck disable=SC2086 # APICHECK_ARGS is a list of flags
"$VENV/bin/schemathesis" --config-file "$work/schemathesis.toml" run "$base/api/v1/openapi.json" \
  "${auth[@]}" \
  --checks all --max-examples "${APICHECK_MAX_EXAMPLES:-5}" --workers 1 \
  --request-timeout 10 --max-failures 100 --no-shrink --seed "${APICHECK_SEED:-20261202}" \
  --suppress-health-check all \
  --report junit --report-dir "$work/report" ${APICHECK_ARGS:-} || status=$?

cd "$ROOT"
if grep -q ' level=ERROR\|"level":"ERROR"' "$work/api.log"; then
  rw_log "the api logged errors:"
  grep ' level=ERROR\|"level":"ERROR"' "$work/api.log" | head -20 >&2
  status=1
fi
((status == 0)) || rw_die "the api does not do what openapi.json says (schemathesis exit $status)"
rw_log "the api matches openapi.json"
