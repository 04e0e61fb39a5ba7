#!/usr/bin/env bash
# Builds the repository's Dockerfile with podman and runs the image: `-version` of a service,
# `archiver migrate` against the local ClickHouse (a throwaway database, dropped after) and
# the gateway until /readyz answers, against the local Kafka (throwaway topic names).
#
# No registry of container images is reachable from this kind of machine, so the Dockerfile's
# builder image (golang:...) cannot be pulled: the check makes a stand-in from busybox-static
# and this machine's Go (mounted read-only, with the module cache, into the build), and passes
# it as GO_IMAGE. Everything else is the Dockerfile as written. Exit 0 = passed, 3 = the
# machine cannot run containers (the reason is printed), anything else = failed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
log() { printf '[container] %s\n' "$*"; }
cannot() { log "CANNOT RUN: $*"; exit 3; }

command -v podman >/dev/null || cannot "podman is not installed"
GOROOT_HOST="$(go env GOROOT)"
GOMODCACHE_HOST="$(go env GOMODCACHE)"
[[ -x /bin/busybox ]] || cannot "busybox-static is not installed (the stand-in builder needs it)"

# This sandbox: crun refuses (cgroups v1/v2 hybrid), and podman's default ulimits exceed the
# hard limits a process without CAP_SYS_RESOURCE may set; runc with the current limits works.
# podman build ignores --ulimit for RUN steps, so the limits go in a containers.conf of this
# check's own (CONTAINERS_CONF, for these podman calls only).
# podman lowers its own RLIMIT_NPROC to 32768 at start, so no container may have more.
nproc=$(ulimit -u); [[ $nproc == unlimited || $nproc -gt 32768 ]] && nproc=32768
conf=$(mktemp)
printf '[containers]\ndefault_ulimits = ["nofile=%s:%s", "nproc=%s:%s"]\n' \
  "$(ulimit -n)" "$(ulimit -Hn)" "$nproc" "$nproc" >"$conf"
export CONTAINERS_CONF="$conf"
trap 'rm -f "$conf"' EXIT
PODMAN=(podman)
command -v runc >/dev/null && PODMAN+=(--runtime "$(command -v runc)")
RUN_OPTS=(--rm --network host --ulimit "nofile=$(ulimit -n):$(ulimit -Hn)" --ulimit "nproc=$nproc:$nproc")

BUILDER=localhost/riverwatch-go-builder:local
if ! "${PODMAN[@]}" image exists "$BUILDER"; then
  log "making the stand-in builder image $BUILDER (busybox-static; Go is mounted at build time)"
  tmp=$(mktemp -d)
  mkdir -p "$tmp/root/bin" "$tmp/root/etc/ssl/certs" "$tmp/root/tmp" "$tmp/root/root" "$tmp/root/usr/local/go"
  cp /bin/busybox "$tmp/root/bin/busybox"
  for a in sh mkdir cp echo chmod ls cat rm; do ln -s busybox "$tmp/root/bin/$a"; done
  cp /etc/ssl/certs/ca-certificates.crt "$tmp/root/etc/ssl/certs/"
  chmod 1777 "$tmp/root/tmp"
  tar -C "$tmp/root" -cf "$tmp/root.tar" .
  "${PODMAN[@]}" import \
    --change 'ENV PATH=/usr/local/go/bin:/bin' --change 'ENV HOME=/root' \
    --change 'ENV GOPROXY=off' --change 'ENV GOFLAGS=-mod=mod' --change 'ENV GOTOOLCHAIN=local' \
    --change 'ENV GOMODCACHE=/go/pkg/mod' --change 'ENV GOCACHE=/root/.cache/go-build' \
    "$tmp/root.tar" "$BUILDER" >/dev/null
  rm -rf "$tmp"
fi

# The build runs offline (GOPROXY=off) on the host's module cache, and its `go mod download`
# wants every module of go.sum, also those the host's builds never fetched (a fresh
# machine's cache holds only what `go build`/`go test` needed): fetch them here first.
log "go mod download (the host's module cache, mounted into the build)"
go mod download

log "podman build -t localhost/riverwatch:check --build-arg GO_IMAGE=$BUILDER ."
start=$(date +%s)
mkdir -p "$HOME/.cache/riverwatch/image-go-build"
"${PODMAN[@]}" build -q --isolation chroot -t localhost/riverwatch:check \
  --build-arg "GO_IMAGE=$BUILDER" --build-arg VERSION=check \
  -v "$GOROOT_HOST:/usr/local/go:ro" \
  -v "$GOMODCACHE_HOST:/go/pkg/mod" \
  -v "$HOME/.cache/riverwatch/image-go-build:/root/.cache/go-build" \
  -f Dockerfile . >/dev/null
# Untagged images of earlier builds (older than a day: newer ones are the layer cache).
"${PODMAN[@]}" image prune -f --filter until=24h >/dev/null 2>&1 || true
log "built in $(($(date +%s) - start)) s; $("${PODMAN[@]}" image inspect localhost/riverwatch:check --format '{{.Size}}' | awk '{printf "%.1f MB", $1/1e6}'), user $("${PODMAN[@]}" image inspect localhost/riverwatch:check --format '{{.Config.User}}')"

[[ $("${PODMAN[@]}" image inspect localhost/riverwatch:check --format '{{.Config.User}}') != "" ]] || { log "FAIL: the image runs as root"; exit 1; }

ver_out=$("${PODMAN[@]}" run "${RUN_OPTS[@]}" localhost/riverwatch:check riverwatch-archiver -version 2>&1) && ver_rc=0 || ver_rc=$?
if [[ $ver_rc -ne 0 && $ver_out == *"flag provided but not defined: -version"* ]]; then
  log "riverwatch-archiver has no -version flag in this tree yet; running -h instead"
  ver_out=$("${PODMAN[@]}" run "${RUN_OPTS[@]}" localhost/riverwatch:check riverwatch-archiver -h 2>&1) || true
  [[ $ver_out == *"usage: archiver"* ]] || { log "FAIL: riverwatch-archiver -h printed: $ver_out"; exit 1; }
elif [[ $ver_rc -ne 0 ]]; then
  log "FAIL: riverwatch-archiver -version exited $ver_rc: $ver_out"; exit 1
fi
log "riverwatch-archiver -version (in the image): $(head -3 <<<"$ver_out")"

CH_ADDR="${RIVERWATCH_CLICKHOUSE_ADDR:-127.0.0.1:9000}"
CH_HTTP="${CLICKHOUSE_HTTP:-http://${CH_ADDR%:*}:${CLICKHOUSE_HTTP_PORT:-8123}}"
KAFKA="${RIVERWATCH_KAFKA_BROKERS:-127.0.0.1:9092}"
db="rw_image_check_$$"
if curl -fsS "$CH_HTTP/ping" >/dev/null 2>&1; then
  log "riverwatch-archiver migrate (in the image) against ClickHouse $CH_ADDR, database $db"
  out=$("${PODMAN[@]}" run "${RUN_OPTS[@]}" -e RIVERWATCH_MODE=development -e RIVERWATCH_CLICKHOUSE_ADDR="$CH_ADDR" -e RIVERWATCH_CLICKHOUSE_DATABASE="$db" \
    localhost/riverwatch:check riverwatch-archiver -config /etc/riverwatch/riverwatch.yaml migrate 2>&1) && rc=0 || rc=$?
  tables=$(curl -fsS "$CH_HTTP/" --data-binary "SELECT count() FROM system.tables WHERE database = '$db'" 2>/dev/null || echo "?")
  curl -fsS "$CH_HTTP/" --data-binary "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
  [[ $rc -eq 0 ]] || { log "FAIL: migrate exited $rc: $out"; exit 1; }
  log "migrate: exit 0, $tables tables created (database dropped again)"
else
  log "ClickHouse HTTP $CH_HTTP does not answer: migrate from the image not tried"
fi

name="riverwatch-check-gateway-$$"
http_port=$((20000 + $$ % 20000)); tcp_port=$((http_port + 1))
log "riverwatch-gateway (in the image) against Kafka $KAFKA, HTTP 127.0.0.1:$http_port, HJ 212 127.0.0.1:$tcp_port"
trap '"${PODMAN[@]}" rm -f -t 2 "$name" >/dev/null 2>&1 || true; rm -f "$conf"' EXIT
"${PODMAN[@]}" run -d --name "$name" "${RUN_OPTS[@]}" \
  -e RIVERWATCH_MODE=development -e RIVERWATCH_KAFKA_BROKERS="$KAFKA" \
  -e RIVERWATCH_KAFKA_TOPICS_READINGS=riverwatch-image-check.readings \
  -e RIVERWATCH_KAFKA_TOPICS_REJECTED=riverwatch-image-check.rejected \
  -e RIVERWATCH_GATEWAY_LISTEN="127.0.0.1:$http_port" -e RIVERWATCH_GATEWAY_HJ212_LISTEN="127.0.0.1:$tcp_port" \
  localhost/riverwatch:check riverwatch-gateway -config /etc/riverwatch/riverwatch.yaml >/dev/null
ready=""
for _ in $(seq 1 60); do
  if curl -fsS "http://127.0.0.1:$http_port/readyz" >/dev/null 2>&1; then ready=1; break; fi
  sleep 0.5
done
health=$("${PODMAN[@]}" exec "$name" riverwatch-probe "http://127.0.0.1:$http_port/readyz" 2>&1 && echo "exit 0" || echo "failed")
logs=$("${PODMAN[@]}" logs "$name" 2>&1 | tail -3)
"${PODMAN[@]}" rm -f -t 5 "$name" >/dev/null
[[ -n $ready ]] || { log "FAIL: gateway never answered /readyz; its log: $logs"; exit 1; }
log "gateway /readyz: ready; riverwatch-probe in the container: $health; container removed"
log "PASS"
