package stream_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/stream"
	"github.com/riverwatch/riverwatch/pkg/testinfra"
	"github.com/segmentio/kafka-go"
)

// partitionsOf reads topic's partitions from a broker that answers.
func partitionsOf(ctx context.Context, brokers []string, topic string) ([]kafka.Partition, error) {
	var last error
	for _, b := range brokers {
		conn, err := kafka.DialContext(ctx, "tcp", b)
		if err != nil {
			last = err
			continue
		}
		parts, err := conn.ReadPartitions(topic)
		conn.Close()
		if err == nil {
			return parts, nil
		}
		last = err
	}
	return nil, last
}

// endOffsets sums the last offset of every partition, asked of each partition's leader.
func endOffsets(ctx context.Context, parts []kafka.Partition, topic string) (int64, error) {
	var sum int64
	for _, p := range parts {
		conn, err := kafka.DialLeader(ctx, "tcp", net.JoinHostPort(p.Leader.Host, strconv.Itoa(p.Leader.Port)), topic, p.ID)
		if err != nil {
			return 0, err
		}
		n, err := conn.ReadLastOffset()
		conn.Close()
		if err != nil {
			return 0, err
		}
		sum += n
	}
	return sum, nil
}

// TestClusterTopicsSurviveABrokerKilled runs on deploy/local/cluster.sh's three brokers:
// EnsureTopics gives every partition three replicas and min.insync.replicas=2; with one
// broker SIGKILLed its partitions get other leaders and a produce acknowledged by all
// in-sync replicas still succeeds; restarted, the broker rejoins every ISR.
func TestClusterTopicsSurviveABrokerKilled(t *testing.T) {
	env := os.Getenv("RIVERWATCH_TEST_CLUSTER_KAFKA")
	if env == "" {
		t.Skip("RIVERWATCH_TEST_CLUSTER_KAFKA is not set: the three brokers of deploy/local/cluster.sh (make test with RIVERWATCH_CLUSTER_TESTS=1)")
	}
	brokers := strings.Split(env, ",")
	script := os.Getenv("RIVERWATCH_TEST_CLUSTER_SCRIPT")
	if script == "" {
		script = filepath.Join(testinfra.ModuleRoot(t), "deploy", "local", "cluster.sh")
	}
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(script, args...).CombinedOutput(); err != nil {
			t.Fatalf("%s %s: %v\n%s", script, strings.Join(args, " "), err, out)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	spec := stream.TopicSpec{Name: fmt.Sprintf("rwcluster-%d", time.Now().UnixNano()), Partitions: 6}
	if err := stream.EnsureTopics(ctx, stream.Plain(brokers...), spec); err != nil {
		t.Fatal(err)
	}
	testinfra.DeleteTopicsAtEnd(t, brokers, spec)

	parts, err := partitionsOf(ctx, brokers, spec.Name)
	if err != nil {
		t.Fatal(err)
	}
	const victim = 2 // node id of kafka-2 (not the first bootstrap broker)
	led := 0
	for _, p := range parts {
		if len(p.Replicas) != 3 || len(p.Isr) != 3 {
			t.Errorf("partition %d: %d replicas, %d in sync; want 3 and 3", p.ID, len(p.Replicas), len(p.Isr))
		}
		if p.Leader.ID == victim {
			led++
		}
	}
	tr := &kafka.Transport{}
	defer tr.CloseIdleConnections()
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Transport: tr}
	res, err := client.DescribeConfigs(ctx, &kafka.DescribeConfigsRequest{Resources: []kafka.DescribeConfigRequestResource{{
		ResourceType: kafka.ResourceTypeTopic, ResourceName: spec.Name,
		ConfigNames: []string{"min.insync.replicas", "unclean.leader.election.enable"},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range res.Resources {
		for _, e := range r.ConfigEntries {
			got[e.ConfigName] = e.ConfigValue
		}
	}
	if got["min.insync.replicas"] != "2" || got["unclean.leader.election.enable"] != "false" {
		t.Errorf("topic configs %v, want min.insync.replicas=2 and unclean.leader.election.enable=false", got)
	}

	w := stream.NewWriter(stream.WriterConfig{Cluster: stream.Plain(brokers...), Topic: spec.Name}, nil)
	defer w.Close()
	publish := func(from, n int) {
		t.Helper()
		msgs := make([]kafka.Message, n)
		for i := range msgs {
			msgs[i] = kafka.Message{Key: []byte(fmt.Sprintf("site-%d", from+i)), Value: []byte(strconv.Itoa(from + i))}
		}
		if err := w.Publish(ctx, msgs...); err != nil {
			t.Fatalf("publish %d messages (acks=all): %v", n, err)
		}
	}
	publish(0, 300)

	run("kill", fmt.Sprintf("kafka-%d", victim))
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			run("start", fmt.Sprintf("kafka-%d", victim))
		}
	})
	killed := time.Now()
	testinfra.Eventually(t, 30*time.Second, "every partition led by a live broker", func() bool {
		ps, err := partitionsOf(ctx, brokers, spec.Name)
		if err != nil {
			return false
		}
		for _, p := range ps {
			if p.Leader.ID == victim || p.Leader.Host == "" {
				return false
			}
		}
		return true
	})
	moved := time.Since(killed)
	// acks=all with two of three replicas in sync: min.insync.replicas=2 lets it through.
	publish(300, 300)
	t.Logf("kafka-%d SIGKILLed: its %d of %d partitions had new leaders after %s; 300 messages acknowledged by all in-sync replicas %s after the kill",
		victim, led, len(parts), moved.Round(10*time.Millisecond), time.Since(killed).Round(10*time.Millisecond))
	run("start", fmt.Sprintf("kafka-%d", victim))
	restarted = true
	testinfra.Eventually(t, 90*time.Second, "the restarted broker back in every ISR", func() bool {
		ps, err := partitionsOf(ctx, brokers, spec.Name)
		if err != nil {
			return false
		}
		for _, p := range ps {
			if len(p.Isr) != 3 {
				return false
			}
		}
		parts = ps
		return true
	})
	n, err := endOffsets(ctx, parts, spec.Name)
	if err != nil {
		t.Fatal(err)
	}
	if n != 600 {
		t.Errorf("the topic holds %d messages, want the 600 acknowledged", n)
	}
}
