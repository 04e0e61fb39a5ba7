#!/usr/bin/env bash
# A local cluster for the replication and fault tests, beside (never instead of) the
# single-node servers of kafka.sh and clickhouse.sh: three Kafka brokers in KRaft mode, one
# Apache ZooKeeper and two ClickHouse servers that are the two replicas of one shard.
#
# usage: deploy/local/cluster.sh COMMAND [NODE]
#   up            fetch what is missing, start every node that is not running, wait for all
#   down          stop every node (ClickHouse first, then ZooKeeper, then the brokers)
#   status        one line per node; exit 0 iff all run
#   start NODE    start one node (kafka-1..3, zookeeper, clickhouse-1..2) and wait for it
#   stop NODE     stop one node (TERM, then KILL)
#   kill NODE     SIGKILL one node at once (the fault tests); `start NODE` brings it back
#   env           print the RIVERWATCH_TEST_CLUSTER_* settings of the cluster tests
#   client ARGS   clickhouse-client on clickhouse-1, e.g. client -q 'SELECT 1'
#   topics        create the contract topics (replication factor 3) that do not exist yet
#   test          the cluster tests (TestCluster* of pkg/store, pkg/stream, the archiver, the assessor,
#                 the responder and clustertest's rolling restart), on a cluster
#                 started for them and stopped afterwards (one that already ran is left up)
#
# What runs (all on 127.0.0.1, state under $RIVERWATCH_STATE_DIR/cluster/):
#   kafka-N       broker CLUSTER_KAFKA_PORT_N (29092, 29192, 29292), controller port +1;
#                 combined broker+controller, a static 3-voter quorum, -Xmx384m each;
#                 default.replication.factor=3, min.insync.replicas=2, no unclean election
#   zookeeper     CLUSTER_ZK_PORT (22181), ZooKeeper CLUSTER_ZK_VERSION's jars from Maven Central
#   clickhouse-N  clickhouse.sh's server and config with its own state dir, plus config.d/
#                 cluster.xml: native 9100/9200, HTTP 8223/8323, interserver 9109/9209,
#                 remote_servers cluster `riverwatch` (one shard, internal_replication),
#                 macros {shard}=01 {replica}=clickhouse-N, ZooKeeper above
# Ports are fixed here on purpose (the tests and docs/scaling.md name them); the single-node
# servers' ports (9092-9094, 9000, 8123) are never used, except in the "front" layout: with
# RIVERWATCH_CLUSTER_LAYOUT=front (RIVERWATCH_CLUSTER=1 make up, where the cluster runs
# instead of the single-node servers) clickhouse-1 answers on their ports (CLICKHOUSE_TCP_PORT
# and CLICKHOUSE_HTTP_PORT: 9000 and 8123), so that every
# client and script finds the data where it always does. The `up` that starts the cluster
# chooses the layout; it is kept in $RIVERWATCH_STATE_DIR/cluster/layout until `down`.
set -euo pipefail

# Everything of the cluster lives in its own state dir, so that kafka.sh's functions
# (sourced below: fetch, check_java, kafka_cmd) and clickhouse.sh (run with that dir) never
# see the single-node servers' files, pids or locks.
BASE_STATE_DIR="${RIVERWATCH_STATE_DIR:-$HOME/.cache/riverwatch/state}"
CLUSTER_DIR="$BASE_STATE_DIR/cluster"
export RIVERWATCH_STATE_DIR="$CLUSTER_DIR"
# shellcheck source-path=SCRIPTDIR source=kafka.sh
source "$(dirname "${BASH_SOURCE[0]}")/kafka.sh"
RW_NAME=cluster

CLUSTER_ZK_VERSION="${CLUSTER_ZK_VERSION:-3.9.5}"
CLUSTER_ZK_PORT=22181
CLUSTER_KAFKA_PORTS=(29092 29192 29292)
CLUSTER_CH_TCP=(9100 9200)
CLUSTER_CH_HTTP=(8223 8323)
CLUSTER_CH_INTERSERVER=(9109 9209)
LAYOUT_FILE="$CLUSTER_DIR/layout"
CLUSTER_LAYOUT=${RIVERWATCH_CLUSTER_LAYOUT:-beside}
if [[ -s $LAYOUT_FILE ]]; then CLUSTER_LAYOUT=$(<"$LAYOUT_FILE"); fi
case $CLUSTER_LAYOUT in
front) CLUSTER_CH_TCP=("$CLICKHOUSE_TCP_PORT" 9200) CLUSTER_CH_HTTP=("$CLICKHOUSE_HTTP_PORT" 8323) ;;
beside) ;;
*) echo "cluster.sh: RIVERWATCH_CLUSTER_LAYOUT=$CLUSTER_LAYOUT: want beside or front" >&2 && exit 2 ;;
esac
CLUSTER_KAFKA_HEAP="${CLUSTER_KAFKA_HEAP:--Xmx384m -Xms128m}"
CLUSTER_ZK_HEAP="${CLUSTER_ZK_HEAP:--Xmx256m -Xms64m}"
CLUSTER_PARTITIONS="${CLUSTER_PARTITIONS:-6}"
# ("-2": the second layout of the cache, with metrics-core; the first lacked it.)
ZK_DIST="$CACHE_DIR/zookeeper-$CLUSTER_ZK_VERSION-2"
NODES=(kafka-1 kafka-2 kafka-3 zookeeper clickhouse-1 clickhouse-2) # start order

cusage() {
  sed -n '/^# usage:/,/^# What runs/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
  exit 2
}

kafka_bootstrap() {
  local p out=()
  for p in "${CLUSTER_KAFKA_PORTS[@]}"; do out+=("$RW_HOST:$p"); done
  (
    IFS=,
    echo "${out[*]}"
  )
}

# --- ZooKeeper ------------------------------------------------------------------------------

# zk_fetch: ZooKeeper's jars from Maven Central through a throwaway pom, once per version,
# published atomically as kafka.sh's fetch does.
zk_fetch() {
  [[ -f $ZK_DIST/.complete ]] && return 0
  command -v mvn >/dev/null || rw_die "mvn not found: install Maven (apt-get install maven)"
  mkdir -p "$CACHE_DIR"
  local work
  work=$(mktemp -d "$CACHE_DIR/.zookeeper-$CLUSTER_ZK_VERSION.XXXXXX")
  rw_log "fetching ZooKeeper $CLUSTER_ZK_VERSION jars from Maven Central into $ZK_DIST (once, ~10 MB)"
  cat >"$work/pom.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by riverwatch deploy/local/cluster.sh: only used to download ZooKeeper's jars. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>riverwatch.local</groupId><artifactId>zookeeper-dist</artifactId>
  <version>$CLUSTER_ZK_VERSION</version><packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.zookeeper</groupId><artifactId>zookeeper</artifactId><version>$CLUSTER_ZK_VERSION</version></dependency>
    <!-- "provided" in ZooKeeper's pom, but the server's metrics need it at run time. -->
    <dependency><groupId>io.dropwizard.metrics</groupId><artifactId>metrics-core</artifactId><version>4.2.40</version></dependency>
  </dependencies>
  <build><pluginManagement><plugins>
    <plugin><groupId>org.apache.maven.plugins</groupId><artifactId>maven-dependency-plugin</artifactId><version>3.6.1</version></plugin>
  </plugins></pluginManagement></build>
</project>
EOF
  if ! mvn -B -q -f "$work/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$work/libs" >"$work/mvn.log" 2>&1; then
    rw_tail "$work/mvn.log"
    rw_die "mvn could not fetch ZooKeeper $CLUSTER_ZK_VERSION; log: $work/mvn.log"
  fi
  rm -rf "$ZK_DIST"
  mkdir -p "$ZK_DIST"
  mv "$work/libs" "$ZK_DIST/libs"
  rm -rf "$work"
  touch "$ZK_DIST/.complete"
}

# zk_classpath: ZooKeeper's jars with Kafka's SLF4J 1.x API and log4j binding in place of
# ZooKeeper's SLF4J 2 API (which has no binding in its poms, so it would log nothing), and
# Kafka's snappy-java ("provided" in ZooKeeper's pom, loaded by the server's snapshots).
zk_classpath() {
  local cp="" j
  for j in "$ZK_DIST"/libs/*.jar; do
    [[ $(basename "$j") == slf4j-api-* ]] && continue
    cp+="$j:"
  done
  for j in "$KAFKA_LIBS"/log4j-api-*.jar "$KAFKA_LIBS"/log4j-core-*.jar "$KAFKA_LIBS"/log4j-slf4j*-impl-*.jar "$KAFKA_LIBS"/slf4j-api-*.jar \
    "$KAFKA_LIBS"/snappy-java-*.jar; do
    cp+="$j:"
  done
  printf '%s\n' "${cp%:}"
}

# --- per-node settings ---------------------------------------------------------------------

# node_vars NODE: set DIR PIDFILE OUT PATTERN (and, per kind, PORT N) for NODE.
node_vars() {
  NODE=$1
  DIR="$CLUSTER_DIR/$NODE"
  PIDFILE="$PID_DIR/$NODE.pid"
  OUT="$LOG_DIR/$NODE.out"
  case $NODE in
  kafka-[123])
    N=${NODE#kafka-}
    PORT=${CLUSTER_KAFKA_PORTS[N - 1]}
    PATTERN="kafka.Kafka $DIR/server.properties"
    ;;
  zookeeper)
    PORT=$CLUSTER_ZK_PORT
    PATTERN="QuorumPeerMain $DIR/zoo.cfg"
    ;;
  clickhouse-[12])
    N=${NODE#clickhouse-}
    PORT=${CLUSTER_CH_TCP[N - 1]}
    # clickhouse.sh with the node's own state dir: its config, data, pid file and lock.
    PATTERN="--config-file=$DIR/clickhouse/config.xml"
    PIDFILE="$DIR/pids/clickhouse.pid"
    ;;
  *) rw_die "unknown node '$NODE' (one of ${NODES[*]})" ;;
  esac
}

ch_script() {
  RIVERWATCH_STATE_DIR="$DIR" CLICKHOUSE_TCP_PORT="$PORT" \
    CLICKHOUSE_HTTP_PORT="${CLUSTER_CH_HTTP[N - 1]}" "$RW_LOCAL_DIR/clickhouse.sh" "$@"
}

# kafka_cluster_id: the one cluster id of the three brokers, made once.
kafka_cluster_id() {
  local id_file="$CLUSTER_DIR/kafka.cluster.id" id
  if [[ ! -s $id_file ]]; then
    id=$(run_tool kafka.tools.StorageTool random-uuid | tail -n 1)
    [[ $id =~ ^[A-Za-z0-9_-]{22}$ ]] || rw_die "StorageTool random-uuid printed '$id'"
    printf '%s\n' "$id" >"$id_file"
  fi
  cat "$id_file"
}

write_kafka_config() {
  local voters="" i
  for i in 1 2 3; do
    voters+="$i@$RW_HOST:$((CLUSTER_KAFKA_PORTS[i - 1] + 1)),"
  done
  mkdir -p "$DIR/data"
  rw_write_if_changed "$DIR/log4j2.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by deploy/local/cluster.sh. -->
<Configuration status="WARN">
  <Appenders>
    <RollingFile name="server" fileName="$LOG_DIR/$NODE-server.log" filePattern="$LOG_DIR/$NODE-server.log.%i">
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
      <Policies><SizeBasedTriggeringPolicy size="50 MB"/></Policies>
      <DefaultRolloverStrategy max="2"/>
    </RollingFile>
  </Appenders>
  <Loggers>
    <Root level="INFO"><AppenderRef ref="server"/></Root>
    <Logger name="state.change.logger" level="WARN"/>
    <Logger name="kafka.request.logger" level="WARN"/>
  </Loggers>
</Configuration>
EOF
  rw_write_if_changed "$DIR/server.properties" <<EOF
# Generated by deploy/local/cluster.sh: edit the script, not this file.
# Node $N of 3, KRaft combined mode (broker and controller), loopback only.
process.roles=broker,controller
node.id=$N
controller.quorum.voters=${voters%,}
listeners=PLAINTEXT://$RW_HOST:$PORT,CONTROLLER://$RW_HOST:$((PORT + 1))
advertised.listeners=PLAINTEXT://$RW_HOST:$PORT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
log.dirs=$DIR/data

# What the contract topics get unless they say otherwise, and the internal topics.
num.partitions=$CLUSTER_PARTITIONS
default.replication.factor=3
min.insync.replicas=2
unclean.leader.election.enable=false
offsets.topic.replication.factor=3
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
share.coordinator.state.topic.replication.factor=3
share.coordinator.state.topic.min.isr=2

auto.create.topics.enable=false
group.initial.rebalance.delay.ms=0
# A killed broker's partitions move within seconds, not the default 9 s + 18 s.
broker.session.timeout.ms=6000
broker.heartbeat.interval.ms=1000
# A dead follower leaves the ISR after 10 s (default 30 s): acks=all writes wait that long.
replica.lag.time.max.ms=10000
EOF
  # Each node's storage is formatted once, with the cluster's one id.
  [[ -f $DIR/data/meta.properties ]] && return 0
  local id
  id=$(kafka_cluster_id)
  if ! run_tool kafka.tools.StorageTool format --ignore-formatted -t "$id" -c "$DIR/server.properties" >>"$OUT" 2>&1; then
    rw_tail "$OUT"
    rw_die "formatting $NODE's storage failed"
  fi
}

write_zk_config() {
  mkdir -p "$DIR/data"
  rw_write_if_changed "$DIR/zoo.cfg" <<EOF
# Generated by deploy/local/cluster.sh. One ZooKeeper for the two ClickHouse replicas.
tickTime=2000
dataDir=$DIR/data
clientPort=$PORT
clientPortAddress=$RW_HOST
maxClientCnxns=200
admin.enableServer=false
4lw.commands.whitelist=ruok,stat,mntr
autopurge.snapRetainCount=3
autopurge.purgeInterval=1
EOF
  rw_write_if_changed "$DIR/log4j2.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<Configuration status="WARN">
  <Appenders>
    <File name="server" fileName="$LOG_DIR/zookeeper-server.log"><PatternLayout pattern="[%d] %p %m (%c)%n"/></File>
  </Appenders>
  <Loggers><Root level="WARN"><AppenderRef ref="server"/></Root></Loggers>
</Configuration>
EOF
}

# write_ch_cluster_config: what a replica adds to clickhouse.sh's config (config.d is merged
# into config.xml by the server): the cluster, its own macros, ZooKeeper, interserver port.
write_ch_cluster_config() {
  local i replicas=""
  for i in 1 2; do
    replicas+="                <replica><host>$RW_HOST</host><port>${CLUSTER_CH_TCP[i - 1]}</port></replica>"$'\n'
  done
  mkdir -p "$DIR/clickhouse/config.d"
  rw_write_if_changed "$DIR/clickhouse/config.d/cluster.xml" <<EOF
<?xml version="1.0"?>
<!-- Generated by deploy/local/cluster.sh: replica $N of shard 01 of cluster riverwatch. -->
<yandex>
    <interserver_http_host>$RW_HOST</interserver_http_host>
    <interserver_http_port>${CLUSTER_CH_INTERSERVER[N - 1]}</interserver_http_port>
    <zookeeper>
        <node><host>$RW_HOST</host><port>$CLUSTER_ZK_PORT</port></node>
        <session_timeout_ms>10000</session_timeout_ms>
    </zookeeper>
    <macros>
        <shard>01</shard>
        <replica>$NODE</replica>
    </macros>
    <remote_servers>
        <riverwatch>
            <shard>
                <internal_replication>true</internal_replication>
$replicas            </shard>
        </riverwatch>
    </remote_servers>
    <distributed_ddl><path>/clickhouse/task_queue/ddl</path></distributed_ddl>
</yandex>
EOF
  # in_order: a Distributed INSERT and the rollup rebuild's SELECT right after it go to the
  # same replica (the first live one), so the rebuild reads the rows it was asked about;
  # with clickhouse.sh's `random` it could read the other replica before they got there
  # (seen: hourly rollups with half an hour's readings).
  mkdir -p "$DIR/clickhouse/users.d"
  rw_write_if_changed "$DIR/clickhouse/users.d/cluster.xml" <<EOF
<?xml version="1.0"?>
<!-- Generated by deploy/local/cluster.sh. -->
<yandex>
    <profiles>
        <default><load_balancing>in_order</load_balancing></default>
    </profiles>
</yandex>
EOF
}

# --- one node -------------------------------------------------------------------------------

node_pid() { rw_pid_of "$PIDFILE" "$PATTERN"; }

# zk_ok: ZooKeeper answers "imok" to ruok (its port alone opens before the server runs).
# zk_ok: ZooKeeper serves requests. `ruok` answers imok as soon as the process runs, before
# it has loaded its database; `stat` says "not currently serving requests" until then, and a
# ClickHouse replica that connects in that window fails its handshake and exits (seen with a
# database holding many tests' replicated tables).
zk_ok() {
  local reply
  # shellcheck disable=SC2016 # $0/$1 belong to the inner shell
  reply=$(timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1" && printf stat >&3 && cat <&3' "$RW_HOST" "$CLUSTER_ZK_PORT" 2>/dev/null) || true
  [[ $reply == *"Mode: standalone"* ]]
}

# wait_port PID SECONDS: until the node accepts connections on PORT, or it dies.
wait_port() {
  local pid=$1 deadline=$((SECONDS + $2))
  while ((SECONDS < deadline)); do
    rw_alive "$pid" || {
      rw_tail "$OUT" "$LOG_DIR/$NODE-server.log"
      rw_die "$NODE exited during start-up (logs in $LOG_DIR)"
    }
    if [[ $NODE == zookeeper ]]; then
      zk_ok && return 0
    else
      rw_port_open "$PORT" && return 0
    fi
    sleep 0.3
  done
  rw_tail "$OUT" "$LOG_DIR/$NODE-server.log"
  rw_die "$NODE did not listen on $RW_HOST:$PORT within $2 s"
}

# start_node NODE [nowait]: start NODE and wait until it listens (unless nowait: a broker
# listens only once the quorum has a leader, which one broker alone cannot elect).
start_node() {
  node_vars "$1"
  local pid t0 nowait=${2:-}
  t0=$(rw_now_ms)
  if [[ $NODE == clickhouse-* ]]; then
    write_ch_cluster_config
    ch_script start
    return
  fi
  if pid=$(node_pid); then
    rw_log "$NODE already running (pid $pid)"
    return 0
  fi
  rw_port_open "$PORT" && rw_die "port $PORT of $NODE is taken by another program"
  local -a KCMD
  case $NODE in
  kafka-*)
    write_kafka_config
    kafka_cmd "$CLUSTER_KAFKA_HEAP" "$DIR/log4j2.xml"
    printf '\n=== %s starting %s\n' "$(date -Is)" "$NODE" >>"$OUT"
    rw_spawn "$PIDFILE" "$OUT" "${KCMD[@]}" kafka.Kafka "$DIR/server.properties"
    ;;
  zookeeper)
    write_zk_config
    local -a heap
    read -r -a heap <<<"$CLUSTER_ZK_HEAP"
    printf '\n=== %s starting %s\n' "$(date -Is)" "$NODE" >>"$OUT"
    rw_spawn "$PIDFILE" "$OUT" "$JAVA" "${heap[@]}" -XX:+UseSerialGC -Djava.awt.headless=true \
      "-Dlog4j2.configurationFile=$DIR/log4j2.xml" -Dzookeeper.admin.enableServer=false \
      -cp "$(zk_classpath)" org.apache.zookeeper.server.quorum.QuorumPeerMain "$DIR/zoo.cfg"
    ;;
  esac
  pid=$(<"$PIDFILE")
  [[ -n $nowait ]] && return 0
  wait_port "$pid" 120
  rw_log "$NODE listening on $RW_HOST:$PORT (pid $pid, $(($(rw_now_ms) - t0)) ms)"
}

stop_node() {
  node_vars "$1"
  if [[ $NODE == clickhouse-* ]]; then
    [[ -d $DIR ]] || return 0
    ch_script stop
    return
  fi
  rw_stop "$NODE" "$PIDFILE" "$PATTERN" 30
}

kill_node() {
  node_vars "$1"
  local pid
  pid=$(node_pid) || rw_die "$NODE is not running"
  kill -KILL "$pid"
  while rw_alive "$pid"; do sleep 0.1; done
  rw_log "$NODE SIGKILLed (pid $pid)"
}

node_status() {
  node_vars "$1"
  local pid
  if pid=$(node_pid) && rw_port_open "$PORT"; then
    echo "$NODE: running (pid $pid, $RW_HOST:$PORT)"
  elif [[ -n ${pid:-} ]]; then
    echo "$NODE: starting (pid $pid, $RW_HOST:$PORT not answering yet)"
    return 1
  else
    echo "$NODE: not running"
    return 1
  fi
}

# --- the cluster ----------------------------------------------------------------------------

# wait_kafka_quorum: every broker registered (a topic listing of all three brokers works
# through the first) within 120 s.
wait_kafka_quorum() {
  local deadline=$((SECONDS + 120)) out
  while ((SECONDS < deadline)); do
    if out=$(RW_KAFKA_QUICK_JVM=1 timeout 40 "$RW_LOCAL_DIR/kafka.sh" tool org.apache.kafka.tools.BrokerApiVersionsCommand \
      --bootstrap-server "$(kafka_bootstrap)" --command-config "$KAFKA_CLIENT_PROPS" 2>/dev/null) &&
      (($(grep -c '^127.0.0.1:29[0-9]92 (id: [123] ' <<<"$out") == 3)); then
      return 0
    fi
    sleep 1
  done
  rw_die "the three brokers did not form a cluster within 120 s (logs in $LOG_DIR)"
}

cmd_up() {
  local t0 n
  t0=$(rw_now_ms)
  rw_mkdirs
  rw_lock cluster # fd 9, which rw_spawn closes in the servers
  if [[ -n ${RIVERWATCH_CLUSTER_LAYOUT:-} && $RIVERWATCH_CLUSTER_LAYOUT != "$CLUSTER_LAYOUT" ]]; then
    rw_die "the cluster runs in the $CLUSTER_LAYOUT layout ($LAYOUT_FILE); run down before asking for $RIVERWATCH_CLUSTER_LAYOUT"
  fi
  printf '%s\n' "$CLUSTER_LAYOUT" >"$LAYOUT_FILE"
  check_java
  fetch
  zk_fetch
  write_tool_configs
  "$RW_LOCAL_DIR/clickhouse.sh" install
  # The brokers' storage is formatted side by side (one JVM each), then all three start
  # before any is waited for.
  kafka_cluster_id >/dev/null
  local -a pids=()
  for n in kafka-1 kafka-2 kafka-3; do
    (node_vars "$n" && write_kafka_config) &
    pids+=($!)
  done
  for n in "${pids[@]}"; do wait "$n" || rw_die "preparing the brokers failed"; done
  for n in kafka-1 kafka-2 kafka-3; do start_node "$n" nowait; done
  for n in zookeeper clickhouse-1 clickhouse-2; do start_node "$n"; done
  for n in kafka-1 kafka-2 kafka-3; do
    node_vars "$n"
    wait_port "$(<"$PIDFILE")" 120
  done
  wait_kafka_quorum
  cat <<EOF
riverwatch local cluster is up ($(($(rw_now_ms) - t0)) ms)
  kafka       $(kafka_bootstrap) (rf 3, min.insync 2)
  zookeeper   $RW_HOST:$CLUSTER_ZK_PORT
  clickhouse  $RW_HOST:${CLUSTER_CH_TCP[0]} and $RW_HOST:${CLUSTER_CH_TCP[1]} (http ${CLUSTER_CH_HTTP[*]}), cluster riverwatch
  state       $CLUSTER_DIR
EOF
}

# cmd_topics: the contract topics (env.sh's RW_TOPICS) on the cluster, replication factor 3,
# for the stack of RIVERWATCH_CLUSTER=1 make up: kafka-go's consumer groups do not notice a
# topic created after they joined, and the archiver may not create the topics it reads.
cmd_topics() {
  local existing t failed=0 p
  existing=$(RW_KAFKA_QUICK_JVM=1 timeout 40 "$RW_LOCAL_DIR/kafka.sh" tool "$TOPIC_COMMAND" --bootstrap-server "$(kafka_bootstrap)" --list) ||
    rw_die "the cluster's brokers do not answer: $existing"
  local -a pids=() made=()
  for t in "${RW_TOPICS[@]}"; do
    grep -qxF -- "$t" <<<"$existing" && continue
    RW_KAFKA_QUICK_JVM=1 timeout 60 "$RW_LOCAL_DIR/kafka.sh" tool "$TOPIC_COMMAND" --bootstrap-server "$(kafka_bootstrap)" \
      --create --if-not-exists --topic "$t" --partitions "$CLUSTER_PARTITIONS" --replication-factor 3 >/dev/null &
    pids+=($!) made+=("$t")
  done
  for p in "${pids[@]}"; do wait "$p" || failed=1; done
  ((failed == 0)) || rw_die "creating topics on the cluster failed"
  ((${#made[@]} == 0)) || rw_log "created ${made[*]} ($CLUSTER_PARTITIONS partitions, rf 3)"
}

cmd_down() {
  local n rc=0
  rw_mkdirs
  rw_lock cluster # fd 9, which rw_spawn closes in the servers
  for n in clickhouse-2 clickhouse-1 zookeeper; do stop_node "$n"; done
  # The brokers side by side: the last one of three stopped in turn has no quorum left for
  # its controlled shutdown and waits out the grace.
  local -a pids=()
  for n in kafka-1 kafka-2 kafka-3; do
    stop_node "$n" &
    pids+=($!)
  done
  for n in "${pids[@]}"; do wait "$n" || rc=1; done
  ((rc != 0)) || rm -f "$LAYOUT_FILE"
  return "$rc"
}

cmd_status() {
  local rc=0 n
  rw_mkdirs
  for n in "${NODES[@]}"; do node_status "$n" || rc=1; done
  return "$rc"
}

cmd_env() {
  cat <<EOF
RIVERWATCH_TEST_CLUSTER_KAFKA=$(kafka_bootstrap)
RIVERWATCH_TEST_CLUSTER_CLICKHOUSE=$RW_HOST:${CLUSTER_CH_TCP[0]},$RW_HOST:${CLUSTER_CH_TCP[1]}
RIVERWATCH_TEST_CLUSTER_SCRIPT=$RW_LOCAL_DIR/cluster.sh
EOF
}

# cmd_test: the cluster tests (TestCluster* of pkg/store, pkg/stream, the archiver, the
# assessor, the responder and deploy/local/clustertest's rolling restart) on a cluster
# started for them unless it already runs, stopped afterwards if this run started it.
cmd_test() {
  local started=0 t0 rc=0
  t0=$(rw_now_ms)
  cmd_status >/dev/null 2>&1 || started=1
  # Interrupted, the cluster this run started is stopped all the same.
  ((started)) && trap 'set +e; cmd_down' EXIT
  (cmd_up)
  local root
  root="$(cd "$RW_LOCAL_DIR/../.." && pwd)"
  # Three rounds, because go test runs packages side by side: the node faults first
  # (pkg/store kills clickhouse-2, pkg/stream kafka-2: disjoint), then the service faults,
  # which kill only their own processes but need every node up (the archiver's test reads
  # clickhouse-2), then the rolling restart of every service and broker, alone.
  local pkgs
  for pkgs in "./pkg/store/ ./pkg/stream/" "./services/archiver/internal/archiver/ ./services/assessor/internal/assessor/ ./services/responder/internal/responder/" "./deploy/local/clustertest/"; do
    # shellcheck disable=SC2046,SC2086 # one KEY=VALUE per line; the packages split on spaces
    (cd "$root" && env $(cmd_env) RIVERWATCH_STATE_DIR="$BASE_STATE_DIR" \
      go test -count=1 -timeout 10m -run '^TestCluster' -v $pkgs) || rc=$?
  done
  if ((started)); then
    trap - EXIT
    cmd_down || rc=1
  fi
  rw_log "cluster tests took $(($(rw_now_ms) - t0)) ms (the cluster's start and stop included)"
  return "$rc"
}

cluster_main() {
  (($# >= 1)) || cusage
  local cmd=$1
  shift
  case $cmd in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  start) (($# == 1)) || cusage && start_node "$1" ;;
  stop) (($# == 1)) || cusage && stop_node "$1" ;;
  kill) (($# == 1)) || cusage && kill_node "$1" ;;
  env) cmd_env ;;
  client) node_vars clickhouse-1 && ch_script client "$@" ;;
  topics) cmd_topics ;;
  test) cmd_test ;;
  *) cusage ;;
  esac
}

cluster_main "$@"
