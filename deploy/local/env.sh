# shellcheck shell=bash
# Shared settings and helpers for the deploy/local scripts. Source it, do not run it.
#
# Everything a local Kafka or ClickHouse writes lives under STATE_DIR (outside the repo, so
# that a `git clean` or a fresh clone never loses or ships server data); downloaded jars live
# under CACHE_DIR so that a second start needs no network.
#
# Environment (all optional):
#   RIVERWATCH_STATE_DIR   data, logs, pid files   (default ~/.cache/riverwatch/state)
#   RIVERWATCH_CACHE_DIR   downloaded Kafka jars   (default ~/.cache/riverwatch)
#   KAFKA_VERSION          Kafka release fetched from Maven Central (default 4.1.1)
#   KAFKA_HOME             use this Kafka installation's bin/ scripts instead of Maven jars
#   KAFKA_PORT             broker listener     (default 9092)
#   KAFKA_CONTROLLER_PORT  KRaft controller    (default 9093)
#   KAFKA_SECURE_PORT      SASL_SSL listener   (default 9094; SCRAM users and ACLs)
#   KAFKA_PARTITIONS       partitions per contract topic (default 6)
#   CLICKHOUSE_TCP_PORT    native protocol     (default 9000)
#   CLICKHOUSE_HTTP_PORT   HTTP interface      (default 8123)

# shellcheck disable=SC2034 # used by infra.sh to find its siblings
RW_LOCAL_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

STATE_DIR="${RIVERWATCH_STATE_DIR:-$HOME/.cache/riverwatch/state}"
CACHE_DIR="${RIVERWATCH_CACHE_DIR:-$HOME/.cache/riverwatch}"
PID_DIR="$STATE_DIR/pids"
LOG_DIR="$STATE_DIR/logs"

# Loopback only: these are development servers with no authentication.
RW_HOST=127.0.0.1

KAFKA_VERSION="${KAFKA_VERSION:-4.1.1}"
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_SECURE_PORT="${KAFKA_SECURE_PORT:-9094}"
KAFKA_PARTITIONS="${KAFKA_PARTITIONS:-6}"
CLICKHOUSE_TCP_PORT="${CLICKHOUSE_TCP_PORT:-9000}"
CLICKHOUSE_HTTP_PORT="${CLICKHOUSE_HTTP_PORT:-8123}"

# The contract topics (shared/DESIGN.md, "The contract").
# shellcheck disable=SC2034 # used by kafka.sh
RW_TOPICS=(riverwatch.readings riverwatch.rejected riverwatch.events riverwatch.incidents riverwatch.commands riverwatch.corrections
  riverwatch.station-commands riverwatch.raw-frames)

export RIVERWATCH_STATE_DIR="$STATE_DIR" RIVERWATCH_CACHE_DIR="$CACHE_DIR"
# The principals of the secured listener: one SCRAM user per service (docs/security.md,
# "Kafka"), and admin for operators' tools.
# shellcheck disable=SC2034 # used by kafka.sh and stack.sh
RW_KAFKA_USERS=(admin gateway assessor archiver responder api)
# Where kafka.sh keeps the local CA and the users' passwords (readable by this user only).
KAFKA_TLS_DIR="$STATE_DIR/kafka/tls"
KAFKA_PASSWORD_DIR="$STATE_DIR/kafka/passwords"

export KAFKA_VERSION KAFKA_PORT KAFKA_CONTROLLER_PORT KAFKA_SECURE_PORT KAFKA_PARTITIONS
export CLICKHOUSE_TCP_PORT CLICKHOUSE_HTTP_PORT

rw_log() { printf '%s: %s\n' "${RW_NAME:-local}" "$*" >&2; }
rw_die() { rw_log "error: $*"; exit 1; }

rw_check_port_var() {
  local name=$1 value=$2
  if ! [[ $value =~ ^[0-9]+$ ]] || ((value < 1 || value > 65535)); then
    rw_die "$name=$value is not a port number"
  fi
}
rw_check_port_var KAFKA_PORT "$KAFKA_PORT"
rw_check_port_var KAFKA_CONTROLLER_PORT "$KAFKA_CONTROLLER_PORT"
rw_check_port_var KAFKA_SECURE_PORT "$KAFKA_SECURE_PORT"
rw_check_port_var CLICKHOUSE_TCP_PORT "$CLICKHOUSE_TCP_PORT"
rw_check_port_var CLICKHOUSE_HTTP_PORT "$CLICKHOUSE_HTTP_PORT"

# rw_mkdirs [DIR...]: the state, pid and log dirs, plus any given.
rw_mkdirs() {
  local d
  mkdir -p "$STATE_DIR" "$PID_DIR" "$LOG_DIR"
  for d; do mkdir -p "$d"; done
}

# rw_port_open PORT: true when something accepts TCP connections on RW_HOST:PORT.
# Uses bash's /dev/tcp so that no nc/curl is needed on a fresh CI machine.
rw_port_open() {
  # shellcheck disable=SC2016 # $0/$1 belong to the inner shell
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$RW_HOST" "$1" 2>/dev/null
}

# rw_pid_of PIDFILE PATTERN: print the pid recorded in PIDFILE if that process is alive and
# its command line contains PATTERN (so a recycled pid is never mistaken for our server).
rw_pid_of() {
  local pidfile=$1 pattern=$2 pid
  [[ -s $pidfile ]] || return 1
  pid=$(<"$pidfile")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  rw_alive "$pid" || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$pattern" || return 1
  printf '%s\n' "$pid"
}

# rw_spawn PIDFILE OUTFILE CMD...: run CMD detached (own session, no terminal, nohup) with
# stdout/stderr appended to OUTFILE, and record its pid. The pid is written by the child
# itself before exec, so it is the server's own pid whatever setsid does about forking.
# Inherited lock descriptors (8, 9) are closed so the server does not hold the lock.
rw_spawn() {
  local pidfile=$1 outfile=$2 i
  shift 2
  rm -f "$pidfile"
  # shellcheck disable=SC2016 # $0/$@ belong to the inner shell
  setsid -f bash -c 'echo $$ >"$0"; exec nohup "$@"' "$pidfile" "$@" \
    </dev/null >>"$outfile" 2>&1 8>&- 9>&-
  for ((i = 0; i < 50; i++)); do
    [[ -s $pidfile ]] && return 0
    sleep 0.1
  done
  rw_die "could not start $1 (no pid file); see $outfile"
}

# rw_alive PID: the process exists and is not a zombie (a zombie still answers kill -0; it
# lingers when whoever inherited our detached server has not reaped it yet).
rw_alive() {
  local state
  kill -0 "$1" 2>/dev/null || return 1
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ $state != Z ]]
}

# rw_stop NAME PIDFILE PATTERN [GRACE_SECONDS]: TERM, wait, then KILL the process group.
# Idempotent: a missing or dead process is success.
rw_stop() {
  local name=$1 pidfile=$2 pattern=$3 grace=${4:-30} pid i
  if ! pid=$(rw_pid_of "$pidfile" "$pattern"); then
    rm -f "$pidfile"
    rw_log "$name is not running"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < grace * 10; i++)); do
    rw_alive "$pid" || break
    sleep 0.1
  done
  if rw_alive "$pid"; then
    rw_log "$name (pid $pid) ignored TERM for ${grace}s; killing it"
    # The server leads its own process group (rw_spawn uses setsid): kill the group.
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      rw_alive "$pid" || break
      sleep 0.1
    done
  fi
  rw_alive "$pid" && rw_die "$name (pid $pid) is still alive"
  rm -f "$pidfile"
  rw_log "$name stopped (pid $pid)"
}

# rw_lock NAME: serialise start/stop of one server across concurrent callers (fd 9).
rw_lock() {
  exec 9>"$PID_DIR/$1.lock"
  flock -w 300 9 || rw_die "timed out waiting for lock $PID_DIR/$1.lock"
}

# rw_tail FILE...: the last lines of each log, for error messages.
rw_tail() {
  local f
  for f in "$@"; do
    [[ -s $f ]] || continue
    printf -- '----- last lines of %s -----\n' "$f" >&2
    tail -n 40 "$f" >&2
  done
}

# rw_write_if_changed FILE: replace FILE with stdin only when the content differs, atomically.
rw_write_if_changed() {
  local file=$1 tmp
  tmp=$(mktemp "$file.XXXXXX")
  cat >"$tmp"
  chmod 644 "$tmp" # mktemp makes 0600; let other users read configs
  if [[ -f $file ]] && cmp -s "$tmp" "$file"; then
    rm -f "$tmp"
  else
    mv -f "$tmp" "$file"
  fi
}

# rw_start_result WORD: tell infra.sh what `start` did (started | running | external), through
# the file it names in RW_START_RESULT, so that it decides under the start lock, not before.
rw_start_result() {
  if [[ -n ${RW_START_RESULT:-} ]]; then printf '%s\n' "$1" >"$RW_START_RESULT"; fi
}

# rw_now_ms: milliseconds since the epoch, for start timings.
rw_now_ms() { date +%s%3N; }

# rw_cluster_env: with RIVERWATCH_CLUSTER=1, point what runs next (the services of stack.sh,
# the demo's simulator and narrator) at the local cluster of cluster.sh in its front layout:
# its three brokers, its first ClickHouse replica on the single-node port with the schema
# ON CLUSTER riverwatch, and the stations spread over the two gateways. What the caller set
# already is left as it is.
rw_cluster_env() {
  [[ ${RIVERWATCH_CLUSTER:-0} == 1 ]] || return 0
  local line
  while IFS= read -r line; do
    case $line in RIVERWATCH_TEST_CLUSTER_KAFKA=*) : "${RIVERWATCH_KAFKA_BROKERS:=${line#*=}}" ;; esac
  done < <("$RW_LOCAL_DIR/cluster.sh" env)
  : "${RIVERWATCH_CLICKHOUSE_ADDR:=$RW_HOST:$CLICKHOUSE_TCP_PORT}" "${RIVERWATCH_CLICKHOUSE_CLUSTER:=riverwatch}"
  : "${RIVERWATCH_SIMULATOR_GATEWAY:=$RW_HOST:9212,$RW_HOST:9312}"
  export RIVERWATCH_KAFKA_BROKERS RIVERWATCH_CLICKHOUSE_ADDR RIVERWATCH_CLICKHOUSE_CLUSTER RIVERWATCH_SIMULATOR_GATEWAY
}
