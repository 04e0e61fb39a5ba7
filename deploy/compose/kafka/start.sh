#!/bin/bash
# The broker of the compose stack (deploy/compose/compose.yaml, service kafka): one KRaft node,
# Apache Kafka's own image, configured here rather than through the image's KAFKA_* variables
# so that the SCRAM users exist from the first start (formatted into the metadata log).
#
# Listeners:
#   SASL_SSL   :9094           the only one other containers reach: TLS with the broker
#                              certificate of deploy/secrets.sh, SCRAM-SHA-512, one user per
#                              service, StandardAuthorizer with no access unless an ACL says so
#                              (kafka/init.sh grants them)
#   INTERNAL   127.0.0.1:9091  inter-broker and the health check, inside this container only
#   CONTROLLER 127.0.0.1:9093  KRaft, inside this container only
set -euo pipefail
secrets=/run/secrets
data=/var/lib/kafka/data
props=/tmp/server.properties

cat >"$props" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:9093
listeners=INTERNAL://127.0.0.1:9091,CONTROLLER://127.0.0.1:9093,SASL_SSL://0.0.0.0:9094
advertised.listeners=INTERNAL://127.0.0.1:9091,SASL_SSL://kafka:9094
listener.security.protocol.map=INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL
inter.broker.listener.name=INTERNAL
controller.listener.names=CONTROLLER
log.dirs=$data

sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.ssl.keystore.type=PEM
listener.name.sasl_ssl.ssl.keystore.location=$secrets/kafka-broker.pem
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
# ANONYMOUS is who the two loopback listeners see; admin is kafka/init.sh's user.
super.users=User:ANONYMOUS;User:admin
allow.everyone.if.no.acl.found=false

num.partitions=6
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# Topics are created by kafka/init.sh, never by a typo.
auto.create.topics.enable=false
group.initial.rebalance.delay.ms=0
# Seven days: a replay after an outage (archiver replay) reaches back this far.
log.retention.hours=168
PROPS

if [[ ! -f $data/meta.properties ]]; then
  scram=()
  for u in gateway assessor responder archiver api admin; do
    scram+=(--add-scram "SCRAM-SHA-512=[name=$u,iterations=8192,password=$(<"$secrets/kafka-$u.password")]")
  done
  /opt/kafka/bin/kafka-storage.sh format --standalone -t "$(/opt/kafka/bin/kafka-storage.sh random-uuid)" \
    -c "$props" "${scram[@]}"
fi
exec /opt/kafka/bin/kafka-server-start.sh "$props"
