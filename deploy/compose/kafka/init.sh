#!/bin/bash
# Runs once per `docker compose up` (service kafka-init), after the broker is healthy and
# before any riverwatch service: creates riverwatch's topics and grants each service's
# principal only its part, as deploy/local/kafka.sh does (the table of docs/security.md#kafka-tls-scram-users-and-acls-h4,
# plus riverwatch.corrections: the api writes it, the archiver reads it). It speaks to the
# broker as admin over SASL_SSL, as the services do. Safe to repeat: existing topics and ACLs
# are left as they are.
set -euo pipefail
secrets=/run/secrets
bin=/opt/kafka/bin
p=${RIVERWATCH_TOPIC_PREFIX:-riverwatch}
client=/tmp/admin.properties
umask 077
cat >"$client" <<PROPS
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$(<"$secrets/kafka-admin.password")";
ssl.truststore.type=PEM
ssl.truststore.location=$secrets/kafka-ca.crt
PROPS
boot=(--bootstrap-server kafka:9094 --command-config "$client")

for t in readings rejected events incidents commands corrections; do
  "$bin/kafka-topics.sh" "${boot[@]}" --create --if-not-exists --topic "$p.$t" --partitions 6
done
# State topics are compacted: deleting by time would lose the state they restore.
for t in assessor-state responder-state; do
  "$bin/kafka-topics.sh" "${boot[@]}" --create --if-not-exists --topic "$p.$t" --partitions 6 \
    --config cleanup.policy=compact --config min.compaction.lag.ms=60000
done

# user pattern type operations names...
while read -r user pattern type ops names; do
  args=("${boot[@]}" --add --allow-principal "User:$user" --resource-pattern-type "$pattern")
  IFS=, read -r -a opl <<<"$ops"
  for o in "${opl[@]}"; do args+=(--operation "$o"); done
  for n in $names; do args+=("--$type" "$n"); done
  "$bin/kafka-acls.sh" "${args[@]}" >/dev/null
  echo "kafka-init: User:$user may $ops on $type $names"
done <<RULES
gateway literal topic Write,Describe,Create $p.readings $p.rejected
assessor literal topic Read,Describe,Create $p.readings
assessor literal topic Write,Describe,Create $p.events $p.rejected
assessor literal topic Read,Write,Describe,Create $p.assessor-state
assessor prefixed group Read,Describe $p.assessor
archiver literal topic Read,Describe $p.readings $p.rejected $p.events $p.incidents $p.corrections
archiver prefixed group Read,Describe $p-archiver-
responder literal topic Read,Describe,Create $p.events $p.commands
responder literal topic Write,Describe,Create $p.incidents $p.rejected
responder literal topic Read,Write,Describe,Create $p.responder-state
responder prefixed group Read,Describe $p.responder.
api literal topic Write,Describe $p.commands $p.corrections
RULES
echo "kafka-init: topics and ACLs of $p.* in place"
