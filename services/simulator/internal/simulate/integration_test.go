package simulate

import (
	"bytes"
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/stream"
	"github.com/riverwatch/riverwatch/pkg/testinfra"
)

// waitTopic waits until every partition of a just-created topic has a leader: a writer
// that publishes earlier is told UnknownTopicOrPartition and caches that for seconds.
func waitTopic(t *testing.T, brokers []string, topic string) {
	t.Helper()
	testinfra.Eventually(t, 30*time.Second, "topic "+topic+" ready", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		parts, err := stream.Partitions(ctx, stream.Plain(brokers...), topic)
		if err != nil || len(parts) == 0 {
			return false
		}
		for _, p := range parts {
			if _, err := stream.OffsetAt(ctx, stream.Plain(brokers...), topic, p, time.Now()); err != nil {
				return false
			}
		}
		return true
	})
}

func publish(t *testing.T, ctx context.Context, brokers []string, topic, key string, v any) {
	t.Helper()
	waitTopic(t, brokers, topic)
	w := stream.NewWriter(stream.WriterConfig{Cluster: stream.Plain(brokers...), Topic: topic}, nil)
	defer w.Close()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := publishRetry(ctx, w, kafka.Message{Key: []byte(key), Value: b}); err != nil {
		t.Fatal(err)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// Follow reads every partition from the given time on a real broker: what was published
// before is not told, what was published after — even before the readers' first fetch — is.
func TestFollowTellsWhatWasPublishedSinceItsStart(t *testing.T) {
	cfg := testinfra.Config(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	net := repoNetwork(t)
	sc := repoScenario(t, net, "sensor-fault")
	brokers, topics := cfg.Kafka.Brokers, cfg.Kafka.Topics
	old := message.Event{ID: "old", Type: message.EventQualitySuspect, Site: "STH-S1", Parameter: "nh3n", Reason: "flat_line", ObservedAt: time.Now()}
	publish(t, ctx, brokers, topics.Events, "STH-S1", old)
	time.Sleep(1100 * time.Millisecond) // Kafka timestamps are milliseconds; leave no doubt
	since := time.Now()
	fresh := old
	fresh.ID, fresh.Reason = "fresh", "12 identical readings of 0.18"
	publish(t, ctx, brokers, topics.Events, "STH-S1", fresh)

	var out syncBuffer
	n := NewNarrator(sc.Story, net, &out)
	fctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- Follow(fctx, stream.Plain(brokers...), Topics{Readings: topics.Readings, Events: topics.Events, Incidents: topics.Incidents}, since, n, quietLog())
	}()
	for !n.Complete() && ctx.Err() == nil {
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	b, ok := n.Beat(StepQuality)
	if !ok {
		t.Fatalf("no quality step:\n%s", out.b.String())
	}
	if !bytes.Contains(out.b.Bytes(), []byte("12 identical readings")) || bytes.Contains(out.b.Bytes(), []byte("flat_line")) {
		t.Errorf("told %q (beat %+v): want the fresh event only", out.b.String(), b)
	}
}

func TestKafkaDrillPublishesTheDrillCommandAsTheAPIDoes(t *testing.T) {
	cfg := testinfra.Config(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	waitTopic(t, cfg.Kafka.Brokers, cfg.Kafka.Topics.Commands)
	w := stream.NewWriter(stream.WriterConfig{Cluster: stream.Plain(cfg.Kafka.Brokers...), Topic: cfg.Kafka.Topics.Commands}, nil)
	defer w.Close()
	key, err := message.LoadCommandKey(cfg.Kafka.CommandsKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	d := &KafkaDrill{Writer: w, Key: key, RunID: "r1", Actor: "simulator"}
	h := Happening{Kind: KindDrill, Site: "TTH-O1", Parameter: "cyanide", At: 5 * time.Minute}
	if err := d.Start(ctx, h); err != nil {
		t.Fatal(err)
	}
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: cfg.Kafka.Brokers, Topic: cfg.Kafka.Topics.Commands, GroupID: cfg.Kafka.GroupPrefix + "-drill", StartOffset: kafka.FirstOffset, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	m, err := r.ReadMessage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var cmd message.Command
	if err := json.Unmarshal(m.Value, &cmd); err != nil {
		t.Fatal(err)
	}
	var sig string
	for _, h := range m.Headers {
		if h.Key == message.HeaderCommandSignature {
			sig = string(h.Value)
		}
	}
	if err := key.Verify(m.Value, sig); err != nil {
		t.Errorf("the drill command does not verify with the key: %v", err)
	}
	if string(m.Key) != "TTH-O1" || cmd.Type != message.CommandDrill || cmd.Site != "TTH-O1" || cmd.Parameter != "cyanide" || cmd.ID == "" {
		t.Errorf("key %s, command %+v", m.Key, cmd)
	}
}

// The kafka load mode publishes what the gateway would: decodable readings with
// deterministic ids, keyed by site. It runs for 8 s because kafka-go's shared transport may
// take up to its metadata TTL (6 s) to learn of a topic created after its first request.
func TestLoadStraightToKafkaPublishesReadings(t *testing.T) {
	cfg := testinfra.Config(t)
	net := repoNetwork(t)
	waitTopic(t, cfg.Kafka.Brokers, cfg.Kafka.Topics.Readings)
	res, err := Load(context.Background(), LoadConfig{
		Mode: ModeKafka, Stations: net.Sites()[:3], Params: 5, Duration: 8 * time.Second, Rate: 500,
		Kafka: stream.Plain(cfg.Kafka.Brokers...), Topic: cfg.Kafka.Topics.Readings, Batch: 100,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Readings == 0 || res.Errors != 0 {
		t.Fatalf("result %v", res)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: cfg.Kafka.Brokers, Topic: cfg.Kafka.Topics.Readings, GroupID: cfg.Kafka.GroupPrefix + "-load", StartOffset: kafka.FirstOffset, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	for i := range 50 {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		var rd message.Reading
		if err := json.Unmarshal(m.Value, &rd); err != nil {
			t.Fatal(err)
		}
		if string(m.Key) != rd.Site || rd.ID != message.ReadingID(rd.Site, rd.Parameter, rd.Interval, rd.ObservedAt) || rd.Unit == "" || !rd.ObservedAt.Before(time.Now()) {
			t.Fatalf("reading %+v (key %s)", rd, m.Key)
		}
	}
}

func TestLatestObservedFindsAnEarlierRunsReadings(t *testing.T) {
	cfg := testinfra.Config(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	topic := cfg.Kafka.Topics.Readings
	waitTopic(t, cfg.Kafka.Brokers, topic)
	if got, err := LatestObserved(ctx, stream.Plain(cfg.Kafka.Brokers...), topic, []string{"STH-S2"}, 100); err != nil || !got.IsZero() {
		t.Fatalf("empty topic: %v, %v", got, err)
	}
	base := time.Now().Add(-3 * time.Hour).Truncate(time.Second).UTC()
	for i, r := range []message.Reading{
		{Site: "STH-S2", Parameter: "nh3n", ObservedAt: base},
		{Site: "STH-S2", Parameter: "do", ObservedAt: base.Add(time.Hour)},
		{Site: "TTH-S2", Parameter: "nh3n", ObservedAt: base.Add(2 * time.Hour)}, // not asked about
		{Site: "STH-D2", Parameter: "nh3n", ObservedAt: base.Add(30 * time.Minute)},
	} {
		r.ID = string(rune('a' + i))
		publish(t, ctx, cfg.Kafka.Brokers, topic, r.Site, r)
	}
	got, err := LatestObserved(ctx, stream.Plain(cfg.Kafka.Brokers...), topic, []string{"STH-S2", "STH-D2"}, 100)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(base.Add(time.Hour)) {
		t.Errorf("latest = %v, want %v (TTH-S2's later reading is not one of ours)", got, base.Add(time.Hour))
	}
}
