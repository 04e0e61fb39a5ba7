// Package clustertest holds the system tests that run every riverwatch service together on
// deploy/local/cluster.sh's cluster (three Kafka brokers, two ClickHouse replicas): the
// rolling restart of every service replica and every broker (issue 15, fault test 4).
// cluster.sh test runs them, in a round of their own, since they stop brokers that the
// other cluster tests need.
package clustertest
