package stream

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"
)

// TopicSpec describes a topic to create.
type TopicSpec struct {
	Name       string
	Partitions int
	Compacted  bool // log compaction, for state topics keyed by series
}

// EnsureTopics creates the topics that do not exist yet (see topicConfigs for their
// replication) and returns once the broker's metadata lists each of them with a leader
// for every partition: a topic is created asynchronously, and a writer that asks too early
// fails with "unknown topic or partition". Existing topics are left as they are.
func EnsureTopics(ctx context.Context, cl Cluster, specs ...TopicSpec) error {
	broker, err := cl.first()
	if err != nil {
		return err
	}
	d := cl.dialer()
	conn, err := d.DialContext(ctx, "tcp", broker)
	if err != nil {
		return fmt.Errorf("dial kafka %s: %w", broker, err)
	}
	defer conn.Close()
	ctrl, err := conn.Controller()
	if err != nil {
		return fmt.Errorf("kafka controller: %w", err)
	}
	cc, err := d.DialContext(ctx, "tcp", net.JoinHostPort(ctrl.Host, strconv.Itoa(ctrl.Port)))
	if err != nil {
		return fmt.Errorf("dial kafka controller: %w", err)
	}
	defer cc.Close()
	brokersSeen, err := conn.Brokers()
	if err != nil {
		return fmt.Errorf("kafka brokers: %w", err)
	}
	cfgs := topicConfigs(len(brokersSeen), specs)
	if err := cc.CreateTopics(cfgs...); err != nil && !errors.Is(err, kafka.TopicAlreadyExists) {
		return fmt.Errorf("create topics: %w", err)
	}
	for _, s := range specs {
		if err := waitForLeaders(ctx, conn, s); err != nil {
			return err
		}
	}
	return nil
}

// waitForLeaders polls the metadata until topic s is listed with a leader for each of its
// partitions, or ctx is done. An existing topic may have fewer or more partitions than s
// asks for (EnsureTopics leaves it as it is), so any listed partition count is accepted.
func waitForLeaders(ctx context.Context, conn *kafka.Conn, s TopicSpec) error {
	for {
		parts, err := conn.ReadPartitions(s.Name)
		if err == nil && len(parts) > 0 && allLed(parts) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("topic %s: no leader for every partition yet: %w", s.Name, errors.Join(err, ctx.Err()))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func allLed(parts []kafka.Partition) bool {
	for _, p := range parts {
		if p.Leader.Host == "" {
			return false
		}
	}
	return true
}

// minInsyncReplicas is what a write acknowledged by all in-sync replicas (the writers'
// RequireAll) must reach once a topic has three copies: with the broker's default of 1, a
// shrunken ISR would acknowledge a single copy, and a station would be answered 9014 for a
// reading one disk failure can lose.
const minInsyncReplicas = 2

// topicConfigs is what EnsureTopics asks the controller to create on a cluster of brokers
// brokers: one copy per broker up to three, min.insync.replicas=2 once there are three
// (with two copies it would stop every write while one broker restarts), and log
// compaction for the state topics.
func topicConfigs(brokers int, specs []TopicSpec) []kafka.TopicConfig {
	rf := max(min(brokers, 3), 1)
	cfgs := make([]kafka.TopicConfig, 0, len(specs))
	for _, s := range specs {
		tc := kafka.TopicConfig{Topic: s.Name, NumPartitions: s.Partitions, ReplicationFactor: rf}
		if s.Compacted {
			tc.ConfigEntries = append(tc.ConfigEntries, kafka.ConfigEntry{ConfigName: "cleanup.policy", ConfigValue: "compact"})
		}
		if rf >= 3 {
			tc.ConfigEntries = append(tc.ConfigEntries, kafka.ConfigEntry{ConfigName: "min.insync.replicas", ConfigValue: strconv.Itoa(minInsyncReplicas)})
		}
		cfgs = append(cfgs, tc)
	}
	return cfgs
}
