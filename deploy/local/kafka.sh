#!/usr/bin/env bash
# A single-node Apache Kafka 4.x (KRaft: broker and controller in one JVM) for development,
# tests, CI and benchmarks, without Docker.
#
# usage: deploy/local/kafka.sh COMMAND
#   start                  fetch jars if needed, format storage once, start, wait until ready
#   stop                   TERM, wait, KILL; no-op when not running
#   status                 exit 0 iff a broker is running (ours, or another one on KAFKA_PORT)
#   topics                 create the contract topics that are missing (KAFKA_PARTITIONS, rf 1)
#   fetch                  download the Kafka jars into the cache (start does this itself)
#   tool MAINCLASS ARGS..  run a Kafka Java tool from the same jars, e.g.
#                          tool org.apache.kafka.tools.ProducerPerformance --topic t ...
#                          tool org.apache.kafka.tools.ConsumerPerformance --bootstrap-server ...
#                          tool org.apache.kafka.tools.TopicCommand --bootstrap-server ... --list
#   bootstrap              print the bootstrap address (127.0.0.1:KAFKA_PORT)
#   acls [PREFIX]          grant each service's SCRAM user what it must read and write on
#                          the topics PREFIX.* (default riverwatch) and its consumer groups
#   client-config USER     print the RIVERWATCH_KAFKA_* settings of USER on the secured
#                          listener (127.0.0.1:KAFKA_SECURE_PORT), e.g. for the stack
#
# Two listeners: PLAINTEXT on KAFKA_PORT for development tools and tests (loopback only; its
# anonymous principal is a super user), and SASL_SSL on KAFKA_SECURE_PORT with a local CA
# (STATE_DIR/kafka/tls/ca.crt), one SCRAM-SHA-512 user per service (passwords in
# STATE_DIR/kafka/passwords/) and ACLs: what a production broker has (docs/security.md).
#
# Settings come from env.sh (ports, KAFKA_VERSION, KAFKA_HOME, state and cache dirs) plus
#   KAFKA_HEAP_OPTS       broker heap (default -Xmx1G -Xms256m)
#   KAFKA_TOOL_HEAP_OPTS  heap of `tool` JVMs (default -Xmx512m)
#   KAFKA_START_TIMEOUT   seconds to wait for the broker without progress (default 120): while
#                         its log grows (loading partitions at start-up), the wait goes on
#   KAFKA_START_MAX       seconds to wait for the broker at most (default 900)
#   KAFKA_OPTS            extra JVM options for the broker and tools (as Kafka's own scripts)
set -euo pipefail

RW_NAME=kafka
# shellcheck source-path=SCRIPTDIR source=env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

KAFKA_DIR="$STATE_DIR/kafka"
KAFKA_DATA="$KAFKA_DIR/data"
KAFKA_PROPS="$KAFKA_DIR/server.properties"
KAFKA_CLIENT_PROPS="$KAFKA_DIR/client.properties"
KAFKA_LOG4J="$KAFKA_DIR/log4j2.xml"
KAFKA_TOOLS_LOG4J="$KAFKA_DIR/tools-log4j2.xml"
KAFKA_PIDFILE="$PID_DIR/kafka.pid"
# The digest of the server.properties the running broker started with: a broker started
# with other settings (an older script) is restarted by start.
KAFKA_STARTED_PROPS="$KAFKA_DIR/started.sha256"
KAFKA_OUT="$LOG_DIR/kafka.out"
KAFKA_SERVER_LOG="$LOG_DIR/kafka-server.log"
KAFKA_DIST="$CACHE_DIR/kafka-$KAFKA_VERSION"
KAFKA_LIBS="$KAFKA_DIST/libs"
KAFKA_BOOTSTRAP="$RW_HOST:$KAFKA_PORT"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-120}"
KAFKA_START_MAX="${KAFKA_START_MAX:-900}"
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xmx1G -Xms256m}"
KAFKA_TOOL_HEAP_OPTS="${KAFKA_TOOL_HEAP_OPTS:--Xmx512m}"
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"
# Matched against /proc/PID/cmdline: our broker, with this state dir's config.
KAFKA_PATTERN="kafka.Kafka $KAFKA_PROPS"

# Main classes of Kafka 4.x (checked in the 4.1.1 jars): kafka.Kafka and kafka.tools.StorageTool
# are in kafka_2.13; TopicCommand, ConsoleProducer, consumer.ConsoleConsumer,
# ProducerPerformance and ConsumerPerformance are in kafka-tools under org.apache.kafka.tools.
TOPIC_COMMAND=org.apache.kafka.tools.TopicCommand

usage() {
  sed -n '/^# usage:/,/^# Settings/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
  exit 2
}

# --- jars ---------------------------------------------------------------------------------

# fetch: the official jars from Maven Central via a throwaway pom, once per version. The
# result is published atomically (temp dir, then rename, then a .complete marker) so an
# interrupted download is never mistaken for a good cache.
fetch() {
  if [[ -n ${KAFKA_HOME:-} ]]; then
    [[ -x $KAFKA_HOME/bin/kafka-run-class.sh ]] || rw_die "KAFKA_HOME=$KAFKA_HOME has no bin/kafka-run-class.sh"
    return 0
  fi
  [[ -f $KAFKA_DIST/.complete ]] && return 0
  mkdir -p "$CACHE_DIR"
  exec 8>"$CACHE_DIR/kafka-$KAFKA_VERSION.lock"
  flock -w 600 8 || rw_die "timed out waiting for another download of Kafka $KAFKA_VERSION"
  if [[ -f $KAFKA_DIST/.complete ]]; then
    exec 8>&-
    return 0
  fi
  command -v mvn >/dev/null || rw_die "mvn not found: install Maven (apt-get install maven) or set KAFKA_HOME"
  rm -rf "$CACHE_DIR/.kafka-$KAFKA_VERSION".* # leftovers of an interrupted or failed download
  local work
  work=$(mktemp -d "$CACHE_DIR/.kafka-$KAFKA_VERSION.XXXXXX")
  rw_log "fetching Kafka $KAFKA_VERSION jars from Maven Central into $KAFKA_DIST (once: about 55 MB of jars plus 85 MB of Maven plugins in ~/.m2; follow it in $work/mvn.log)"
  cat >"$work/pom.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by riverwatch deploy/local/kafka.sh: only used to download Kafka's jars. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>riverwatch.local</groupId>
  <artifactId>kafka-dist</artifactId>
  <version>$KAFKA_VERSION</version>
  <packaging>pom</packaging>
  <dependencies>
    <!-- broker (kafka.Kafka) and kafka.tools.StorageTool -->
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-server</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-storage</artifactId><version>$KAFKA_VERSION</version></dependency>
    <!-- TopicCommand, console producer/consumer, Producer/ConsumerPerformance -->
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>$KAFKA_VERSION</version></dependency>
  </dependencies>
  <build>
    <pluginManagement>
      <plugins>
        <plugin><groupId>org.apache.maven.plugins</groupId><artifactId>maven-dependency-plugin</artifactId><version>3.6.1</version></plugin>
      </plugins>
    </pluginManagement>
  </build>
</project>
EOF
  if ! mvn -B -q -f "$work/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$work/libs" >"$work/mvn.log" 2>&1; then
    rw_tail "$work/mvn.log"
    rw_die "mvn could not fetch Kafka $KAFKA_VERSION (is that version on Maven Central?); log: $work/mvn.log"
  fi
  # Kafka logs through SLF4J, and its poms bring no SLF4J binding (the release tarball ships
  # one; 4.0's poms do not even bring log4j-core): without it every broker log line is
  # silently dropped. Add log4j-core/api if missing, at the version Kafka resolved (else the
  # one Kafka 4.0/4.1 ship), and the binding that matches the SLF4J API (1.x or 2.x).
  local jar log4j_version=2.24.3 binding="log4j-slf4j-impl" artifact
  jar=$(cd "$work/libs" && compgen -G 'log4j-core-*.jar' || compgen -G 'log4j-api-*.jar' || true)
  jar=${jar%%$'\n'*}
  if [[ -n $jar ]]; then
    log4j_version=${jar#log4j-*-}
    log4j_version=${log4j_version%.jar}
  fi
  compgen -G "$work/libs/slf4j-api-1.*.jar" >/dev/null || binding="log4j-slf4j2-impl"
  for artifact in log4j-api log4j-core "$binding"; do
    compgen -G "$work/libs/$artifact-*.jar" >/dev/null && continue
    if ! mvn -B -q -f "$work/pom.xml" dependency:copy \
      -Dartifact="org.apache.logging.log4j:$artifact:$log4j_version" \
      -DoutputDirectory="$work/libs" >>"$work/mvn.log" 2>&1; then
      rw_tail "$work/mvn.log"
      rw_die "mvn could not fetch org.apache.logging.log4j:$artifact:$log4j_version"
    fi
  done
  rm -rf "$KAFKA_DIST"
  mkdir -p "$KAFKA_DIST"
  mv "$work/libs" "$KAFKA_LIBS"
  mv "$work/pom.xml" "$KAFKA_DIST/pom.xml"
  rm -rf "$work"
  touch "$KAFKA_DIST/.complete"
  exec 8>&-
  rw_log "Kafka $KAFKA_VERSION: $(find "$KAFKA_LIBS" -name '*.jar' | wc -l) jars cached"
}

check_java() {
  [[ -n ${KAFKA_HOME:-} ]] && return 0 # kafka-run-class.sh finds its own java
  command -v "$JAVA" >/dev/null || rw_die "java not found: Kafka 4.x needs Java 17+ (apt-get install openjdk-17-jre-headless)"
  local v
  v=$("$JAVA" -version 2>&1 | awk -F'"' '/version/ {print $2; exit}')
  v=${v#1.}
  v=${v%%[.-]*}
  if ! [[ $v =~ ^[0-9]+$ ]] || ((v < 17)); then
    rw_die "Kafka 4.x needs Java 17+, but $JAVA is version ${v:-unknown}"
  fi
}

# --- running Kafka classes ----------------------------------------------------------------

# kafka_cmd HEAP LOG4J: set KCMD to the command line that runs a Kafka main class, either
# through KAFKA_HOME's kafka-run-class.sh (which honours these variables) or plain java.
# QUICK=1 (our own admin calls: list and create topics) trades peak speed for a JVM that starts
# faster; benchmarks run through `tool` keep the normal flags.
kafka_cmd() {
  local heap=$1 log4j=$2 perf
  # The JVM flags kafka-run-class.sh uses by default.
  perf="-XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent"
  [[ ${RW_KAFKA_QUICK_JVM:-0} == 1 ]] && perf="-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
  if [[ -n ${KAFKA_HOME:-} ]]; then
    KCMD=(env "KAFKA_HEAP_OPTS=$heap" "KAFKA_LOG4J_OPTS=-Dlog4j2.configurationFile=$log4j"
      "KAFKA_JVM_PERFORMANCE_OPTS=-server $perf -Djava.awt.headless=true"
      "LOG_DIR=$LOG_DIR" "$KAFKA_HOME/bin/kafka-run-class.sh")
  else
    local -a heap_args perf_args extra_args
    read -r -a heap_args <<<"$heap"
    read -r -a perf_args <<<"$perf"
    read -r -a extra_args <<<"${KAFKA_OPTS:-}" # as kafka-run-class.sh: e.g. a JMX or profiler agent
    KCMD=("$JAVA" "${heap_args[@]}" -server "${perf_args[@]}" -Djava.awt.headless=true
      "-Dkafka.logs.dir=$LOG_DIR" "-Dlog4j2.configurationFile=$log4j" -cp "$KAFKA_LIBS/*"
      "${extra_args[@]}")
  fi
}

# run_tool MAINCLASS ARGS...: a short-lived Kafka tool, logging warnings to stderr.
run_tool() {
  local -a KCMD
  RW_KAFKA_QUICK_JVM=1 kafka_cmd "$KAFKA_TOOL_HEAP_OPTS" "$KAFKA_TOOLS_LOG4J"
  "${KCMD[@]}" "$@"
}

# --- configuration ------------------------------------------------------------------------

write_tool_configs() {
  rw_mkdirs "$KAFKA_DIR"
  rw_write_if_changed "$KAFKA_TOOLS_LOG4J" <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by deploy/local/kafka.sh: Kafka command-line tools log warnings to stderr. -->
<Configuration status="WARN">
  <Appenders>
    <Console name="stderr" target="SYSTEM_ERR"><PatternLayout pattern="[%d] %p %m (%c)%n"/></Console>
  </Appenders>
  <Loggers>
    <Root level="WARN"><AppenderRef ref="stderr"/></Root>
  </Loggers>
</Configuration>
EOF
  # Fail fast instead of the admin client's 60 s default when the broker is not there.
  rw_write_if_changed "$KAFKA_CLIENT_PROPS" <<'EOF'
request.timeout.ms=5000
default.api.timeout.ms=15000
EOF
}

write_broker_configs() {
  write_tool_configs
  rw_write_if_changed "$KAFKA_LOG4J" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by deploy/local/kafka.sh on each start. -->
<Configuration status="WARN">
  <Appenders>
    <RollingFile name="server" fileName="$KAFKA_SERVER_LOG" filePattern="$KAFKA_SERVER_LOG.%i">
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
      <Policies><SizeBasedTriggeringPolicy size="100 MB"/></Policies>
      <DefaultRolloverStrategy max="5"/>
    </RollingFile>
  </Appenders>
  <Loggers>
    <Root level="INFO"><AppenderRef ref="server"/></Root>
    <Logger name="state.change.logger" level="WARN"/>
    <Logger name="kafka.request.logger" level="WARN"/>
  </Loggers>
</Configuration>
EOF
  # Regenerated on each start so that port changes in the environment take effect.
  rw_write_if_changed "$KAFKA_PROPS" <<EOF
# Generated by deploy/local/kafka.sh on each start: edit the script, not this file.
# Single node, KRaft combined mode, loopback only.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=$RW_HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$RW_HOST:$KAFKA_PORT,SASL_SSL://$RW_HOST:$KAFKA_SECURE_PORT,CONTROLLER://$RW_HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$RW_HOST:$KAFKA_PORT,SASL_SSL://$RW_HOST:$KAFKA_SECURE_PORT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
log.dirs=$KAFKA_DATA

# The secured listener: TLS with the local CA's certificate, SCRAM-SHA-512 users, ACLs.
sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.ssl.keystore.type=PEM
listener.name.sasl_ssl.ssl.keystore.location=$KAFKA_TLS_DIR/broker.pem
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
# The loopback PLAINTEXT and controller listeners authenticate nobody (User:ANONYMOUS): they
# are the development and inter-broker paths and stay super users; every principal of the
# SASL_SSL listener gets only what its ACLs grant.
super.users=User:ANONYMOUS;User:admin
allow.everyone.if.no.acl.found=false

# One broker: every internal topic has replication factor 1.
num.partitions=$KAFKA_PARTITIONS
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1

# Topics are part of the contract: create them explicitly (kafka.sh topics), never by typo.
auto.create.topics.enable=false
# Tests start consumer groups all the time: do not wait 3 s for more members.
group.initial.rebalance.delay.ms=0
EOF
}

# format_storage: KRaft storage is formatted once per state dir, with a cluster id kept there.
format_storage() {
  [[ -f $KAFKA_DATA/meta.properties ]] && return 0
  local id_file="$KAFKA_DIR/cluster.id" id
  if [[ ! -s $id_file ]]; then
    id=$(run_tool kafka.tools.StorageTool random-uuid | tail -n 1)
    [[ $id =~ ^[A-Za-z0-9_-]{22}$ ]] || rw_die "StorageTool random-uuid printed '$id'"
    printf '%s\n' "$id" >"$id_file"
  fi
  id=$(<"$id_file")
  rw_log "formatting KRaft storage in $KAFKA_DATA (cluster id $id)"
  if ! run_tool kafka.tools.StorageTool format --standalone --ignore-formatted \
    -t "$id" -c "$KAFKA_PROPS" >>"$KAFKA_OUT" 2>&1; then
    rw_tail "$KAFKA_OUT"
    rw_die "formatting the Kafka storage failed"
  fi
}

# --- the secured listener -----------------------------------------------------------------

# make_tls: a local CA and the broker's certificate for 127.0.0.1/localhost, once per state
# dir. Clients trust ca.crt (kafka.tls.ca_file); broker.pem is the unencrypted PKCS#8 key
# and the certificate, the PEM keystore Kafka reads.
make_tls() {
  [[ -s $KAFKA_TLS_DIR/broker.pem && -s $KAFKA_TLS_DIR/ca.crt ]] && return 0
  command -v openssl >/dev/null || rw_die "openssl not found: the secured listener needs it (apt-get install openssl)"
  rw_mkdirs "$KAFKA_TLS_DIR"
  chmod 700 "$KAFKA_TLS_DIR"
  local d=$KAFKA_TLS_DIR
  rw_log "making the local CA and the broker certificate in $d"
  {
    openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 -subj "/CN=riverwatch local CA" \
      -keyout "$d/ca.key" -out "$d/ca.crt" &&
      openssl req -newkey rsa:2048 -nodes -sha256 -subj "/CN=localhost" \
        -keyout "$d/broker.key" -out "$d/broker.csr" &&
      openssl x509 -req -sha256 -days 825 -in "$d/broker.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" \
        -CAcreateserial -out "$d/broker.crt" \
        -extfile <(printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n') &&
      openssl pkcs8 -topk8 -nocrypt -in "$d/broker.key" -out "$d/broker.p8"
  } >"$d/openssl.log" 2>&1 || {
    rw_tail "$d/openssl.log"
    rw_die "making the local certificates failed"
  }
  cat "$d/broker.p8" "$d/broker.crt" >"$d/broker.pem"
  chmod 600 "$d"/*.key "$d"/*.p8 "$d/broker.pem"
  chmod 644 "$d/ca.crt"
}

# password_of USER: the user's password file, made (random) on first use.
password_of() {
  local f="$KAFKA_PASSWORD_DIR/$1"
  if [[ ! -s $f ]]; then
    rw_mkdirs "$KAFKA_PASSWORD_DIR"
    chmod 700 "$KAFKA_PASSWORD_DIR"
    (umask 077 && openssl rand -hex 24 >"$f")
  fi
  printf '%s\n' "$f"
}

# make_users: a SCRAM-SHA-512 credential for every user of RW_KAFKA_USERS that the broker
# does not have yet (kept in KRaft's metadata, so once per state dir), side by side.
make_users() {
  local marker="$KAFKA_DIR/scram-users" u f
  local -a todo=() pids=()
  for u in "${RW_KAFKA_USERS[@]}"; do
    grep -qxF "$u" "$marker" 2>/dev/null || todo+=("$u")
  done
  ((${#todo[@]} > 0)) || return 0
  for u in "${todo[@]}"; do
    f=$(password_of "$u")
    RW_KAFKA_QUICK_JVM=1 timeout 90 "${BASH_SOURCE[0]}" tool kafka.admin.ConfigCommand \
      --bootstrap-server "$KAFKA_BOOTSTRAP" --command-config "$KAFKA_CLIENT_PROPS" --alter \
      --add-config "SCRAM-SHA-512=[iterations=8192,password=$(<"$f")]" --entity-type users --entity-name "$u" \
      >>"$KAFKA_OUT" 2>&1 &
    pids+=($!)
  done
  local failed=0 p
  for p in "${pids[@]}"; do wait "$p" || failed=1; done
  ((failed == 0)) || {
    rw_tail "$KAFKA_OUT"
    rw_die "creating the SCRAM users failed"
  }
  printf '%s\n' "${todo[@]}" >>"$marker"
  rw_log "SCRAM users ${todo[*]} on $RW_HOST:$KAFKA_SECURE_PORT (passwords in $KAFKA_PASSWORD_DIR)"
}

# acl_rules PREFIX: one rule a line, "user pattern type operations names...": what each
# service must do and nothing more (docs/security.md has the same table). Only the gateway
# writes readings; only the api writes commands and corrections. Station commands: the api
# and the responder request them, the gateway reads them (a group per replica) and writes
# what became of each, the archiver stores them all.
acl_rules() {
  local p=$1
  cat <<EOF
gateway literal topic Write,Describe,Create $p.readings $p.rejected $p.raw-frames
gateway literal topic Read,Write,Describe,Create $p.station-commands
gateway prefixed group Read,Describe $p.gateway.
assessor literal topic Read,Describe,Write,Create $p.assessor-state
assessor literal topic Read,Describe,Create $p.readings
assessor literal topic Write,Describe,Create $p.events $p.rejected
assessor prefixed group Read,Describe $p.assessor
archiver literal topic Read,Describe $p.readings $p.rejected $p.events $p.incidents $p.corrections $p.station-commands $p.raw-frames
archiver literal topic Read,Describe,Write,Create $p.archiver-rollups
archiver prefixed group Read,Describe $p-archiver-
responder literal topic Read,Describe,Write,Create $p.responder-state
responder literal topic Read,Describe,Create $p.events $p.commands
responder literal topic Write,Describe,Create $p.incidents $p.rejected
responder literal topic Write,Describe $p.station-commands
responder prefixed group Read,Describe $p.responder.
api literal topic Write,Describe $p.commands
api literal topic Write,Describe,Create $p.corrections
api literal topic Write,Describe $p.station-commands
EOF
}

# cmd_acls [PREFIX]: grant acl_rules, once per prefix (the broker keeps ACLs in KRaft's
# metadata); one JVM per rule, side by side.
cmd_acls() {
  local prefix=${1:-riverwatch} marker
  [[ $prefix =~ ^[A-Za-z0-9._-]+$ ]] || rw_die "acls: prefix $prefix is not a topic name"
  write_tool_configs
  fetch
  # The marker names the rules' digest: a changed table is granted again.
  marker="$KAFKA_DIR/acls/$prefix.$(acl_rules "$prefix" | sha256sum | cut -c1-16)"
  [[ -f $marker ]] && return 0
  rw_mkdirs "$KAFKA_DIR/acls"
  local user pattern type ops rest o name
  local -a names opl args pids=()
  while read -r user pattern type ops rest; do
    read -r -a names <<<"$rest"
    IFS=, read -r -a opl <<<"$ops"
    args=(--bootstrap-server "$KAFKA_BOOTSTRAP" --command-config "$KAFKA_CLIENT_PROPS" --add
      --allow-principal "User:$user" --resource-pattern-type "$pattern")
    for o in "${opl[@]}"; do args+=(--operation "$o"); done
    for name in "${names[@]}"; do args+=("--$type" "$name"); done
    RW_KAFKA_QUICK_JVM=1 timeout 90 "${BASH_SOURCE[0]}" tool org.apache.kafka.tools.AclCommand "${args[@]}" \
      >>"$KAFKA_OUT" 2>&1 &
    pids+=($!)
  done < <(acl_rules "$prefix")
  local failed=0 p
  for p in "${pids[@]}"; do wait "$p" || failed=1; done
  ((failed == 0)) || {
    rw_tail "$KAFKA_OUT"
    rw_die "granting the ACLs of $prefix.* failed"
  }
  touch "$marker"
  rw_log "ACLs granted on $prefix.* for ${RW_KAFKA_USERS[*]:1}"
}

# cmd_client_config USER: the settings of a riverwatch client as USER on the secured listener.
cmd_client_config() {
  local user=${1:-}
  if [[ -z $user ]] || ! printf '%s\n' "${RW_KAFKA_USERS[@]}" | grep -qxF -- "$user"; then
    rw_die "client-config: USER is one of ${RW_KAFKA_USERS[*]}"
  fi
  cat <<EOF
RIVERWATCH_KAFKA_BROKERS=$RW_HOST:$KAFKA_SECURE_PORT
RIVERWATCH_KAFKA_TLS_ENABLED=true
RIVERWATCH_KAFKA_TLS_CA_FILE=$KAFKA_TLS_DIR/ca.crt
RIVERWATCH_KAFKA_SASL_MECHANISM=SCRAM-SHA-512
RIVERWATCH_KAFKA_SASL_USERNAME=$user
RIVERWATCH_KAFKA_SASL_PASSWORD_FILE=$(password_of "$user")
EOF
}

props_digest() { sha256sum "$KAFKA_PROPS" | cut -d' ' -f1; }

# --- state --------------------------------------------------------------------------------

# list_topics: through this script's `tool` so that `timeout` can bound the JVM.
list_topics() {
  RW_KAFKA_QUICK_JVM=1 timeout 40 "${BASH_SOURCE[0]}" tool "$TOPIC_COMMAND" --bootstrap-server "$KAFKA_BOOTSTRAP" \
    --command-config "$KAFKA_CLIENT_PROPS" --list
}

# broker_answers: the broker serves metadata (a topic listing succeeds), not just a socket.
broker_answers() { list_topics >/dev/null 2>&1; }

running_pid() { rw_pid_of "$KAFKA_PIDFILE" "$KAFKA_PATTERN"; }

describe_runtime() {
  if [[ -n ${KAFKA_HOME:-} ]]; then echo "KAFKA_HOME=$KAFKA_HOME"; else echo "Kafka $KAFKA_VERSION"; fi
}

# log_size: bytes in the broker's server log (0 before it exists), to tell a broker that is
# loading many partitions at start-up (the log grows) from one that hangs.
log_size() { stat -c %s "$KAFKA_SERVER_LOG" 2>/dev/null || echo 0; }

wait_ready() {
  local pid=$1 t0=$2 hard=$((SECONDS + KAFKA_START_MAX)) progress=$SECONDS size last
  last=$(log_size)
  while ((SECONDS - progress < KAFKA_START_TIMEOUT && SECONDS < hard)); do
    size=$(log_size)
    if ((size != last)); then
      last=$size progress=$SECONDS
    fi
    if ! rw_alive "$pid"; then
      rm -f "$KAFKA_PIDFILE"
      rw_tail "$KAFKA_OUT" "$KAFKA_SERVER_LOG"
      rw_die "the broker exited during start-up (logs above, in $LOG_DIR)"
    fi
    if rw_port_open "$KAFKA_PORT" && broker_answers; then
      rw_log "ready on $KAFKA_BOOTSTRAP (pid $pid, $(describe_runtime), $(($(rw_now_ms) - t0)) ms)"
      return 0
    fi
    sleep 0.5
  done
  rw_tail "$KAFKA_OUT" "$KAFKA_SERVER_LOG"
  rw_log "the broker did not answer on $KAFKA_BOOTSTRAP (no progress in its log for ${KAFKA_START_TIMEOUT}s, or ${KAFKA_START_MAX}s in all); stopping it"
  rw_stop kafka "$KAFKA_PIDFILE" "$KAFKA_PATTERN" 20
  exit 1
}

# --- commands -----------------------------------------------------------------------------

cmd_start() {
  local t0 pid
  t0=$(rw_now_ms)
  rw_mkdirs "$KAFKA_DIR" "$KAFKA_DATA"
  rw_lock kafka
  if pid=$(running_pid); then
    make_tls
    write_broker_configs
    if [[ $(cat "$KAFKA_STARTED_PROPS" 2>/dev/null) == "$(props_digest)" ]]; then
      if rw_port_open "$KAFKA_PORT"; then
        make_users
        rw_start_result running
        rw_log "already running (pid $pid, $KAFKA_BOOTSTRAP): nothing to do"
        return 0
      fi
      wait_ready "$pid" "$t0" # started by someone else whose wait was interrupted
      make_users
      rw_start_result running
      return 0
    fi
    # Started by an older script, or with other ports: its listeners are not those of
    # server.properties. Data and topics are kept.
    rw_log "the running broker (pid $pid) has other settings than $KAFKA_PROPS: restarting it"
    rw_stop kafka "$KAFKA_PIDFILE" "$KAFKA_PATTERN" 30
  fi
  if rw_port_open "$KAFKA_PORT"; then
    write_tool_configs
    fetch
    broker_answers || rw_die "port $KAFKA_PORT is taken by something that is not a Kafka broker; set KAFKA_PORT"
    rw_start_result external
    rw_log "a broker not started by this script already answers on $KAFKA_BOOTSTRAP: using it"
    return 0
  fi
  rw_port_open "$KAFKA_CONTROLLER_PORT" &&
    rw_die "controller port $KAFKA_CONTROLLER_PORT is taken by another program; set KAFKA_CONTROLLER_PORT"
  check_java
  fetch
  make_tls
  write_broker_configs
  format_storage
  local -a KCMD
  kafka_cmd "$KAFKA_HEAP_OPTS" "$KAFKA_LOG4J"
  printf '\n=== %s starting %s\n' "$(date -Is)" "$(describe_runtime)" >>"$KAFKA_OUT"
  rw_spawn "$KAFKA_PIDFILE" "$KAFKA_OUT" "${KCMD[@]}" kafka.Kafka "$KAFKA_PROPS"
  pid=$(<"$KAFKA_PIDFILE")
  rw_start_result started # before the wait: a failed or interrupted wait still counts
  props_digest >"$KAFKA_STARTED_PROPS"
  rw_log "started pid $pid ($(describe_runtime)); waiting for $KAFKA_BOOTSTRAP"
  wait_ready "$pid" "$t0"
  make_users
}

cmd_stop() {
  rw_mkdirs
  rw_lock kafka
  rw_stop kafka "$KAFKA_PIDFILE" "$KAFKA_PATTERN" 30
}

cmd_status() {
  local pid
  if pid=$(running_pid); then
    if rw_port_open "$KAFKA_PORT"; then
      echo "kafka: running (pid $pid, $KAFKA_BOOTSTRAP, $(describe_runtime), state $STATE_DIR)"
    else
      echo "kafka: starting (pid $pid, $KAFKA_BOOTSTRAP not answering yet)"
    fi
    return 0
  fi
  if rw_port_open "$KAFKA_PORT"; then
    echo "kafka: a server not started by these scripts listens on $KAFKA_BOOTSTRAP"
    return 0
  fi
  echo "kafka: not running"
  return 1
}

cmd_topics() {
  write_tool_configs
  fetch
  local existing t
  existing=$(list_topics 2>&1) || {
    printf '%s\n' "$existing" >&2
    rw_die "no broker answers on $KAFKA_BOOTSTRAP (start it with: $0 start)"
  }
  local -a missing=() pids=()
  for t in "${RW_TOPICS[@]}"; do
    grep -qxF -- "$t" <<<"$existing" || missing+=("$t")
  done
  if ((${#missing[@]} == 0)); then
    rw_log "topics already exist: ${RW_TOPICS[*]}"
    return 0
  fi
  # One JVM per topic: run them side by side rather than one after the other.
  for t in "${missing[@]}"; do
    RW_KAFKA_QUICK_JVM=1 timeout 60 "${BASH_SOURCE[0]}" tool "$TOPIC_COMMAND" --bootstrap-server "$KAFKA_BOOTSTRAP" \
      --command-config "$KAFKA_CLIENT_PROPS" --create --if-not-exists --topic "$t" \
      --partitions "$KAFKA_PARTITIONS" --replication-factor 1 >/dev/null &
    pids+=($!)
  done
  local failed=0 p
  for p in "${pids[@]}"; do wait "$p" || failed=1; done
  ((failed == 0)) || rw_die "creating topics failed"
  rw_log "created ${missing[*]} ($KAFKA_PARTITIONS partitions, rf 1)"
}

cmd_tool() {
  (($# >= 1)) || usage
  write_tool_configs
  fetch
  local -a KCMD
  kafka_cmd "$KAFKA_TOOL_HEAP_OPTS" "$KAFKA_TOOLS_LOG4J"
  exec "${KCMD[@]}" "$@"
}

main() {
  (($# >= 1)) || usage
  local cmd=$1
  shift
  case $cmd in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  topics) cmd_topics ;;
  fetch) fetch ;;
  tool) cmd_tool "$@" ;;
  bootstrap) echo "$KAFKA_BOOTSTRAP" ;;
  acls) cmd_acls "$@" ;;
  client-config) cmd_client_config "$@" ;;
  -h | --help | help) usage ;;
  *) usage ;;
  esac
}

# Sourced (deploy/local/cluster.sh reuses fetch, check_java and kafka_cmd): define only.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then main "$@"; fi
