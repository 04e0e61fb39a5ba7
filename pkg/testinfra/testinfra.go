// Package testinfra gives integration tests the real Kafka broker and ClickHouse server
// that `make test` starts (deploy/local/infra.sh), each test isolated on topics and a
// database of its own, and builds service binaries for tests that kill them.
//
// Integration tests run when RIVERWATCH_INTEGRATION=1 (make test sets it after starting the
// servers); otherwise they are skipped with that reason. When it is set, a server that does
// not answer fails the test: make test never passes by skipping.
package testinfra

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/riverwatch/riverwatch/pkg/chstore"
	"github.com/riverwatch/riverwatch/pkg/config"
	"github.com/riverwatch/riverwatch/pkg/stream"
	"github.com/segmentio/kafka-go"
)

// Require skips the test unless integration tests are enabled.
func Require(t testing.TB) {
	t.Helper()
	if os.Getenv("RIVERWATCH_INTEGRATION") != "1" {
		t.Skip("integration test: needs real Kafka and ClickHouse; run `make test`, which starts them and sets RIVERWATCH_INTEGRATION=1")
	}
}

// KafkaBrokers returns the broker list, failing the test if Kafka does not answer.
func KafkaBrokers(t testing.TB) []string {
	t.Helper()
	Require(t)
	brokers := strings.Split(envOr("RIVERWATCH_KAFKA_BROKERS", "127.0.0.1:9092"), ",")
	mustDial(t, "kafka", brokers[0])
	return brokers
}

// ClickHouseAddr returns the native address, failing the test if ClickHouse does not answer.
func ClickHouseAddr(t testing.TB) string {
	t.Helper()
	Require(t)
	addr := envOr("RIVERWATCH_CLICKHOUSE_ADDR", "127.0.0.1:9000")
	mustDial(t, "clickhouse", addr)
	return addr
}

var seq atomic.Int64

// Name returns a name unique to this test run, safe for topics and databases.
func Name(t testing.TB) string {
	base := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		if r >= 'A' && r <= 'Z' {
			return r + 32
		}
		return '_'
	}, t.Name())
	if len(base) > 40 {
		base = base[:40]
	}
	return fmt.Sprintf("t_%s_%d_%d", base, time.Now().UnixNano()%1e9, seq.Add(1))
}

// Config returns a configuration pointing at the real servers, with topics, consumer
// groups and a ClickHouse database unique to the test, the topics created. Repository
// files (sites, playbooks, tokens) are resolved from the module root.
func Config(t testing.TB) *config.Config {
	t.Helper()
	brokers := KafkaBrokers(t)
	addr := ClickHouseAddr(t)
	name := Name(t)
	c := config.Default()
	c.Mode = config.ModeDevelopment // tests run with the repository's development files
	c.Kafka.Brokers = brokers
	c.Kafka.GroupPrefix = name
	c.Kafka.Topics = config.Topics{
		Readings: name + ".readings", Rejected: name + ".rejected", Events: name + ".events",
		Incidents: name + ".incidents", Commands: name + ".commands", Corrections: name + ".corrections",
		StationCommands: name + ".station-commands", RawFrames: name + ".raw-frames",
	}
	c.Assessor.StateTopic = name + ".assessor-state"
	c.Responder.StateTopic = name + ".responder-state"
	c.Archiver.RollupTopic = name + ".archiver-rollups"
	c.ClickHouse.Addr = addr
	c.ClickHouse.Database = name
	// On a replicated cluster (deploy/local/cluster.sh's tests) the schema is created ON
	// CLUSTER, and Env hands the name to the service binaries.
	c.ClickHouse.Cluster = os.Getenv("RIVERWATCH_CLICKHOUSE_CLUSTER")
	// The defaults' paths are relative to the configuration's directory, configs/.
	configs := filepath.Join(ModuleRoot(t), "configs")
	c.SitesFile = filepath.Join(configs, c.SitesFile)
	c.PlaybooksFile = filepath.Join(configs, c.PlaybooksFile)
	c.ContactsFile = filepath.Join(configs, c.ContactsFile)
	c.Auth.TokensFile = filepath.Join(configs, c.Auth.TokensFile)
	c.Simulator.ScenarioFile = filepath.Join(configs, c.Simulator.ScenarioFile)
	c.Kafka.CommandsKeyFile = filepath.Join(configs, c.Kafka.CommandsKeyFile)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var specs []stream.TopicSpec
	for _, tp := range c.Kafka.Topics.All() {
		specs = append(specs, stream.TopicSpec{Name: tp, Partitions: 3})
	}
	specs = append(specs,
		stream.TopicSpec{Name: c.Assessor.StateTopic, Partitions: 3, Compacted: true},
		stream.TopicSpec{Name: c.Responder.StateTopic, Partitions: 3, Compacted: true},
		stream.TopicSpec{Name: c.Archiver.RollupTopic, Partitions: 1})
	if err := stream.EnsureTopics(ctx, stream.Plain(brokers...), specs...); err != nil {
		t.Fatalf("create topics: %v", err)
	}
	DeleteTopicsAtEnd(t, brokers, specs...)
	waitForTopics(t, ctx, brokers[0], specs)
	return &c
}

// DeleteTopicsAtEnd deletes the test's topics when the test ends (unless
// RIVERWATCH_KEEP_TEST_DATA is set). Left behind, they pile up run after run in the
// broker's data directory, and a broker holding tens of thousands of partitions takes
// minutes to load them at start-up.
func DeleteTopicsAtEnd(t testing.TB, brokers []string, specs ...stream.TopicSpec) {
	t.Helper()
	names := make([]string, len(specs))
	for i, s := range specs {
		names[i] = s.Name
	}
	t.Cleanup(func() {
		if os.Getenv("RIVERWATCH_KEEP_TEST_DATA") != "" {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		tr := &kafka.Transport{} // its own, closed here, so no idle connection outlives the test
		defer tr.CloseIdleConnections()
		client := &kafka.Client{Addr: kafka.TCP(brokers...), Transport: tr}
		res, err := client.DeleteTopics(ctx, &kafka.DeleteTopicsRequest{Topics: names})
		if err != nil {
			t.Logf("delete test topics %v: %v", names, err)
			return
		}
		for name, err := range res.Errors {
			if err != nil && !errors.Is(err, kafka.UnknownTopicOrPartition) {
				t.Logf("delete test topic %s: %v", name, err)
			}
		}
	})
}

// waitForTopics returns once the broker's metadata lists every topic with its partitions:
// a topic is created asynchronously, and a writer that asks too early caches "unknown topic".
func waitForTopics(t testing.TB, ctx context.Context, broker string, specs []stream.TopicSpec) {
	t.Helper()
	for _, s := range specs {
		for {
			conn, err := kafka.DialContext(ctx, "tcp", broker)
			if err == nil {
				parts, perr := conn.ReadPartitions(s.Name)
				conn.Close()
				if perr == nil && len(parts) == s.Partitions {
					break
				}
			}
			select {
			case <-ctx.Done():
				t.Fatalf("topic %s did not appear in the broker's metadata", s.Name)
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
}

// ClickHouse opens a connection to the test's database server (database "default"), and
// drops the test's database when the test ends.
func ClickHouse(t testing.TB, c *config.Config) driver.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := chstore.Open(ctx, chstore.Config{Addr: c.ClickHouse.Addr, Database: "default", Username: c.ClickHouse.Username, DialTimeout: c.ClickHouse.DialTimeout})
	if err != nil {
		t.Fatalf("clickhouse: %v", err)
	}
	t.Cleanup(func() {
		if os.Getenv("RIVERWATCH_KEEP_TEST_DATA") == "" {
			_ = conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+c.ClickHouse.Database)
		}
		conn.Close()
	})
	return conn
}

// Env returns RIVERWATCH_* environment overrides that point a service binary at c, in c's
// mode (development for Config's: production mode refuses the repository's development
// tokens, secrets and station passwords).
func Env(c *config.Config) []string {
	mode := c.Mode
	if mode == "" {
		mode = config.ModeDevelopment
	}
	return append(os.Environ(),
		"RIVERWATCH_MODE="+mode,
		"RIVERWATCH_KAFKA_BROKERS="+strings.Join(c.Kafka.Brokers, ","),
		"RIVERWATCH_KAFKA_GROUP_PREFIX="+c.Kafka.GroupPrefix,
		"RIVERWATCH_KAFKA_TOPICS_READINGS="+c.Kafka.Topics.Readings,
		"RIVERWATCH_KAFKA_TOPICS_REJECTED="+c.Kafka.Topics.Rejected,
		"RIVERWATCH_KAFKA_TOPICS_EVENTS="+c.Kafka.Topics.Events,
		"RIVERWATCH_KAFKA_TOPICS_INCIDENTS="+c.Kafka.Topics.Incidents,
		"RIVERWATCH_KAFKA_TOPICS_COMMANDS="+c.Kafka.Topics.Commands,
		"RIVERWATCH_KAFKA_TOPICS_CORRECTIONS="+c.Kafka.Topics.Corrections,
		"RIVERWATCH_KAFKA_TOPICS_STATION_COMMANDS="+c.Kafka.Topics.StationCommands,
		"RIVERWATCH_KAFKA_TOPICS_RAW_FRAMES="+c.Kafka.Topics.RawFrames,
		"RIVERWATCH_ASSESSOR_STATE_TOPIC="+c.Assessor.StateTopic,
		"RIVERWATCH_RESPONDER_STATE_TOPIC="+c.Responder.StateTopic,
		"RIVERWATCH_ARCHIVER_ROLLUP_TOPIC="+c.Archiver.RollupTopic,
		"RIVERWATCH_CLICKHOUSE_ADDR="+c.ClickHouse.Addr,
		"RIVERWATCH_CLICKHOUSE_DATABASE="+c.ClickHouse.Database,
		"RIVERWATCH_CLICKHOUSE_CLUSTER="+c.ClickHouse.Cluster,
		"RIVERWATCH_SITES_FILE="+c.SitesFile,
		"RIVERWATCH_PLAYBOOKS_FILE="+c.PlaybooksFile,
		"RIVERWATCH_CONTACTS_FILE="+c.ContactsFile,
		"RIVERWATCH_AUTH_TOKENS_FILE="+c.Auth.TokensFile,
		"RIVERWATCH_KAFKA_COMMANDS_KEY_FILE="+c.Kafka.CommandsKeyFile,
	)
}

// FreeAddr returns a free 127.0.0.1 TCP address for a service under test to listen on.
//
// The port is below the kernel's ephemeral range (32768–60999 on Linux). A port the kernel
// hands out for :0 comes from that range, which every outgoing connection draws its local
// port from too: between FreeAddr closing it and the service binding it, a Kafka or
// ClickHouse client of a test running in parallel could take it ("bind: address already
// in use"). Below the range only listeners take ports, and the one found free is checked
// by binding it.
func FreeAddr(t testing.TB) string {
	t.Helper()
	const lo, n = 10000, 10000 // 10000–19999: no fixed port of the local stack or cluster
	// Spread over the range, apart from the other test processes' calls (seq: the names').
	start := int((seq.Add(1)*7919 + int64(os.Getpid())*104729) % n)
	for i := range n {
		addr := fmt.Sprintf("127.0.0.1:%d", lo+(start+i)%n)
		if ln, err := net.Listen("tcp", addr); err == nil {
			ln.Close()
			return addr
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// BuildService compiles services/<name> into a temporary directory and returns the path.
func BuildService(t testing.TB, name string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), name)
	cmd := exec.Command("go", "build", "-o", out, "./services/"+name)
	cmd.Dir = ModuleRoot(t)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", name, err, b)
	}
	return out
}

// ModuleRoot returns the repository root (where go.mod is).
func ModuleRoot(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Eventually polls cond every 100 ms until it returns true or timeout passes.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out after %v waiting for %s", timeout, what)
}

func mustDial(t testing.TB, what, addr string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 3*time.Second)
	if err != nil {
		t.Fatalf("%s at %s does not answer (make test starts it with deploy/local/infra.sh): %v", what, addr, err)
	}
	c.Close()
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// UseCluster points the integration helpers of this test (Config, ClickHouse, Env and the
// service binaries it starts) at deploy/local/cluster.sh's cluster: its three brokers, its
// first ClickHouse replica and the schema ON CLUSTER riverwatch. It returns the replicas'
// addresses and skips the test unless cluster.sh test set RIVERWATCH_TEST_CLUSTER_KAFKA and
// RIVERWATCH_TEST_CLUSTER_CLICKHOUSE. It sets the environment, so the test must not be
// parallel.
func UseCluster(t *testing.T) (replicas []string) {
	t.Helper()
	brokers := os.Getenv("RIVERWATCH_TEST_CLUSTER_KAFKA")
	addrs := os.Getenv("RIVERWATCH_TEST_CLUSTER_CLICKHOUSE")
	if brokers == "" || addrs == "" {
		t.Skip("RIVERWATCH_TEST_CLUSTER_KAFKA and _CLICKHOUSE are not set: the cluster of deploy/local/cluster.sh (cluster.sh test, which make test runs)")
	}
	replicas = strings.Split(addrs, ",")
	if len(replicas) != 2 {
		t.Fatalf("RIVERWATCH_TEST_CLUSTER_CLICKHOUSE=%s: want the two replicas' addresses", addrs)
	}
	for k, v := range map[string]string{
		"RIVERWATCH_INTEGRATION":        "1",
		"RIVERWATCH_KAFKA_BROKERS":      brokers,
		"RIVERWATCH_CLICKHOUSE_ADDR":    replicas[0],
		"RIVERWATCH_CLICKHOUSE_CLUSTER": "riverwatch",
	} {
		t.Setenv(k, v)
	}
	return replicas
}
