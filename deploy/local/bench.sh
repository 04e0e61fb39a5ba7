#!/usr/bin/env bash
# make bench: the pipeline and the machine's own limits measured side by side in one run.
#
# usage: deploy/local/bench.sh          (make bench runs `make build` and install.sh first)
#
# Starts Kafka and ClickHouse unless they already run (and stops afterwards only what it
# started), builds bin/rwbench and runs it: raw Kafka with Kafka's own perf tools, raw
# ClickHouse with clickhouse-client, then riverwatch end to end, latency, assessor memory
# and api latency on the run's own topics (rwbench-<run id>.*), database (rwbench) and
# service processes on free ports, so a running `make up` stack and its data are left
# alone. Prints the table and writes bench/results/run-<id>.json (see bench/doc.go).
#
# Environment:
#   RWBENCH_ARGS   extra rwbench flags, e.g. "-steps kafka,clickhouse" or "-throughput 40s"
#                  (bin/rwbench -h lists them)
#   RIVERWATCH_*, KAFKA_PORT, CLICKHOUSE_TCP_PORT, ...  as for the other scripts (env.sh)
#   RIVERWATCH_CLUSTER=1  on the local cluster (three brokers, two ClickHouse replicas)
set -euo pipefail

RW_NAME=bench
# shellcheck source-path=SCRIPTDIR source=env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
# Development mode: the services run with the repository's public development tokens,
# secrets and station passwords, which production mode (the binaries' default) refuses.
export RIVERWATCH_MODE="${RIVERWATCH_MODE:-development}"
ROOT="$(cd "$RW_LOCAL_DIR/../.." && pwd)"
cd "$ROOT"

t0=$(rw_now_ms)
"$RW_LOCAL_DIR/infra.sh" up >&2
trap '"$RW_LOCAL_DIR/infra.sh" down --started-only >&2' EXIT

mkdir -p "$ROOT/bin"
go build -o "$ROOT/bin/rwbench" ./bench/cmd/rwbench

if [[ ${RIVERWATCH_CLUSTER:-0} == 1 ]]; then
  # On the local cluster (infra.sh started it): its three brokers, raw Kafka included, and
  # clickhouse-1 with the schema ON CLUSTER (docs/scaling.md, figures on the cluster).
  rw_cluster_env
else
  export RIVERWATCH_KAFKA_BROKERS="$RW_HOST:$KAFKA_PORT"
  export RIVERWATCH_CLICKHOUSE_ADDR="$RW_HOST:$CLICKHOUSE_TCP_PORT"
fi
# shellcheck disable=SC2086 # RWBENCH_ARGS is a list of flags
"$ROOT/bin/rwbench" -root "$ROOT" ${RWBENCH_ARGS:-}
rw_log "done in $((($(rw_now_ms) - t0) / 1000)) s"
