package archiver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/riverwatch/riverwatch/pkg/chstore"
	"github.com/riverwatch/riverwatch/pkg/config"
	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/store"
	"github.com/riverwatch/riverwatch/pkg/stream"
	"github.com/riverwatch/riverwatch/pkg/testinfra"
	"github.com/segmentio/kafka-go"
)

// quiet is the logger of tests: failures say what matters.
func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// env is one integration test's archive: real ClickHouse, a database of its own, migrated.
type env struct {
	cfg    *config.Config
	conn   driver.Conn
	schema store.Schema
	w      *store.Writer
	m      *store.Metrics
	reg    *prometheus.Registry
	km     *stream.Metrics // the consumers' (riverwatch_archiver_kafka_*), on reg
	store  *store.Store
}

func newEnv(t testing.TB) *env {
	t.Helper()
	cfg := testinfra.Config(t)
	conn := testinfra.ClickHouse(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	v, err := chstore.ServerVersion(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	s := store.NewSchema(cfg, v)
	if _, err := store.Migrate(ctx, conn, s, quiet()); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	tz, err := time.LoadLocation(cfg.Archiver.RollupTimezone)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	m := store.NewMetrics(reg)
	return &env{
		cfg: cfg, conn: conn, schema: s, m: m, reg: reg, km: stream.NewMetrics(reg, "archiver"),
		w: store.NewWriter(conn, s, tz, m, quiet()), store: store.NewStore(conn, s.Database),
	}
}

// count runs a query returning one UInt64.
func (e *env) count(t testing.TB, query string, args ...any) uint64 {
	t.Helper()
	var n uint64
	q := fmt.Sprintf(query, args...)
	if err := e.conn.QueryRow(context.Background(), q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func (e *env) table(name string) string { return e.schema.Table(name) }

var (
	testSites  = []string{"STH-S1", "STH-S2", "STH-S3", "THH-S1", "THH-S2"}
	testParams = []string{"cod", "nh3n", "tp", "do", "ph"}
)

// readings returns n deterministic readings: every site and parameter once a minute from
// base; one in seven is flagged D (not valid) so rollups distinguish samples and valid.
func readings(n int, base time.Time) []message.Reading {
	out := make([]message.Reading, 0, n)
	per := len(testSites) * len(testParams)
	for i := range n {
		site, param := testSites[i%len(testSites)], testParams[(i/len(testSites))%len(testParams)]
		at := base.Add(time.Duration(i/per) * time.Minute)
		flag := message.FlagNormal
		if i%7 == 3 {
			flag = "D"
		}
		out = append(out, message.Reading{
			ID: message.ReadingID(site, param, message.IntervalMinute, at), Site: site, Station: "mn-" + site,
			Parameter: param, Value: float64(i%97) / 10, Unit: "mg/L", Interval: message.IntervalMinute,
			Flag: flag, ObservedAt: at, ReceivedAt: at.Add(2 * time.Second), Source: message.SourceHJ212,
		})
	}
	return out
}

// asMessages encodes records as Kafka messages with consecutive offsets on one partition.
func asMessages[T any](t testing.TB, recs []T, key func(T) string, partition int, firstOffset int64) []kafka.Message {
	t.Helper()
	out := make([]kafka.Message, len(recs))
	for i, r := range recs {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = kafka.Message{Key: []byte(key(r)), Value: b, Partition: partition, Offset: firstOffset + int64(i), Time: time.Now()}
	}
	return out
}

func readingKey(r message.Reading) string { return r.Site }

// waitTopic waits until every partition of a just-created topic has a leader: a publish
// right after creation may otherwise fail with UnknownTopicOrPartition, and retrying a
// partly written publish would duplicate messages.
func waitTopic(t testing.TB, cfg *config.Config, topic string) {
	t.Helper()
	testinfra.Eventually(t, 30*time.Second, "topic "+topic+" ready", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		conn, err := kafka.DialContext(ctx, "tcp", cfg.Kafka.Brokers[0])
		if err != nil {
			return false
		}
		parts, err := conn.ReadPartitions(topic)
		conn.Close()
		if err != nil || len(parts) != 3 {
			return false
		}
		for p := range 3 {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			lc, err := kafka.DialLeader(ctx, "tcp", cfg.Kafka.Brokers[0], topic, p)
			cancel()
			if err != nil {
				return false
			}
			_, _, err = lc.ReadOffsets()
			lc.Close()
			if err != nil {
				return false
			}
		}
		return true
	})
}

// publish sends messages to a topic of the real broker.
func publish(t testing.TB, cfg *config.Config, topic string, msgs []kafka.Message) {
	t.Helper()
	waitTopic(t, cfg, topic)
	w := stream.NewWriter(stream.WriterConfig{Brokers: cfg.Kafka.Brokers, Topic: topic}, nil)
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for len(msgs) > 0 {
		n := min(len(msgs), 5000)
		chunk := make([]kafka.Message, n)
		for i, m := range msgs[:n] {
			chunk[i] = kafka.Message{Key: m.Key, Value: m.Value}
		}
		err := w.Publish(ctx, chunk...)
		// A topic this young may still be unknown to the writer's metadata; nothing was
		// written then, so publishing again is safe.
		for try := 0; errors.Is(err, kafka.UnknownTopicOrPartition) && try < 20; try++ {
			time.Sleep(250 * time.Millisecond)
			err = w.Publish(ctx, chunk...)
		}
		if err != nil {
			t.Fatalf("publish: %v", err)
		}
		msgs = msgs[n:]
	}
}

// committed returns the consumer group's committed offsets of a topic, per partition.
func committed(t testing.TB, cfg *config.Config, group, topic string) map[int]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := &kafka.Client{Addr: kafka.TCP(cfg.Kafka.Brokers...)}
	resp, err := c.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: {0, 1, 2}}})
	if err != nil {
		t.Fatalf("offset fetch: %v", err)
	}
	out := map[int]int64{}
	for _, p := range resp.Topics[topic] {
		out[p.Partition] = p.CommittedOffset
	}
	return out
}

// highWaterMarks returns the end offsets of a topic, per partition.
func highWaterMarks(t testing.TB, cfg *config.Config, topic string) map[int]int64 {
	t.Helper()
	out := map[int]int64{}
	for p := range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		lc, err := kafka.DialLeader(ctx, "tcp", cfg.Kafka.Brokers[0], topic, p)
		cancel()
		if err != nil {
			t.Fatalf("leader %s/%d: %v", topic, p, err)
		}
		_, last, err := lc.ReadOffsets()
		lc.Close()
		if err != nil {
			t.Fatalf("offsets %s/%d: %v", topic, p, err)
		}
		out[p] = last
	}
	return out
}

// value reads a counter or gauge (testutil.ToFloat64 would need a module this repository
// does not have).
func value(m prometheus.Metric) float64 {
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		return math.NaN()
	}
	switch {
	case d.Counter != nil:
		return d.Counter.GetValue()
	case d.Gauge != nil:
		return d.Gauge.GetValue()
	}
	return math.NaN()
}

// gauges returns the values of a gauge on e.reg whose labels include match, one per series.
func (e *env) gauges(t testing.TB, name string, match map[string]string) []float64 {
	t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			for k, v := range match {
				if labels[k] != v {
					continue series
				}
			}
			out = append(out, m.GetGauge().GetValue())
		}
	}
	return out
}
