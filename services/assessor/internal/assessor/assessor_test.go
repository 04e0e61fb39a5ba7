package assessor

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"maps"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"github.com/riverwatch/riverwatch/pkg/config"
	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/network"
	"github.com/riverwatch/riverwatch/pkg/stream"
)

func TestConfigFromTheRiverwatchConfiguration(t *testing.T) {
	c := config.Default()
	c.Kafka.GroupPrefix = "x"
	got, err := ConfigFrom(&c)
	if err != nil {
		t.Fatal(err)
	}
	if got.GroupID != "x.assessor" || got.ReadingsTopic != message.TopicReadings || got.EventsTopic != message.TopicEvents ||
		got.StateTopic != "riverwatch.assessor-state" || got.BatchTimeout != 200*time.Microsecond ||
		got.MaxDelay != time.Millisecond || got.Options.ConfirmReadings != 3 {
		t.Errorf("config %+v", got)
	}
}

func TestNewRejectsAnIncompleteConfiguration(t *testing.T) {
	net, err := network.Load(filepath.Join("..", "..", "..", "..", "configs", "sites.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	c := config.Default()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for name, mutate := range map[string]func(*Config){
		"no brokers":     func(c *Config) { c.Kafka.Brokers = nil },
		"no state topic": func(c *Config) { c.StateTopic = "" },
		"bad option":     func(c *Config) { c.Options.ClearRatio = 2 },
	} {
		t.Run(name, func(t *testing.T) {
			cfg, err := ConfigFrom(&c)
			if err != nil {
				t.Fatal(err)
			}
			mutate(&cfg)
			if _, err := NewAssessor(cfg, net, prometheus.NewRegistry(), log); err == nil {
				t.Error("no error")
			}
		})
	}
	ac, err := ConfigFrom(&c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewAssessor(ac, net, prometheus.NewRegistry(), log); err != nil {
		t.Errorf("the default configuration: %v", err)
	}
}

func TestValidReadingNeedsSiteParameterAndTime(t *testing.T) {
	ok := message.Reading{Site: "s", Parameter: "cod", ObservedAt: time.Unix(1, 0)}
	if err := validReading(ok); err != nil {
		t.Fatal(err)
	}
	for _, r := range []message.Reading{
		{Parameter: "cod", ObservedAt: time.Unix(1, 0)},
		{Site: "s", ObservedAt: time.Unix(1, 0)},
		{Site: "s", Parameter: "cod"},
	} {
		if validReading(r) == nil {
			t.Errorf("%+v: no error", r)
		}
	}
}

func TestRejectionRecordsTheRawInputAndWhere(t *testing.T) {
	a := &Assessor{}
	m := kafka.Message{Topic: "readings", Partition: 2, Offset: 41, Value: []byte("{garbage"), Time: time.Unix(100, 0)}
	got, err := a.rejection(m, errors.New("unexpected end of JSON input"))
	if err != nil {
		t.Fatal(err)
	}
	var rej message.Rejection
	if err := json.Unmarshal(got.Value, &rej); err != nil {
		t.Fatal(err)
	}
	if rej.Reason != message.ReasonUndecodable || rej.Source != "assessor" || rej.Remote != "readings/2/41" || rej.Raw != "{garbage" ||
		rej.Detail != "readings partition 2 offset 41: unexpected end of JSON input" || string(got.Key) != rej.ID || rej.ID == "" {
		t.Errorf("rejection %+v", rej)
	}
	if again, _ := a.rejection(m, errors.New("other")); string(again.Key) != rej.ID {
		t.Error("the id of a replayed rejection changed")
	}
}

func TestCatchUpWaitsForTheHighWatermarkOfEveryPartition(t *testing.T) {
	assigned := []stream.Assignment{{Partition: 0, Offset: kafka.FirstOffset}, {Partition: 1, Offset: 50}, {Partition: 2, Offset: 7}}
	c := newCatchUp(assigned, map[int]int64{0: 10, 1: 50, 2: 0})
	if c.caughtUp() {
		t.Fatal("partition 0 has 10 readings to go")
	}
	c.done(nextOffsets(map[int]int64{0: 9}))
	if c.caughtUp() {
		t.Fatal("one more reading on partition 0")
	}
	c.done(nextOffsets(map[int]int64{0: 10}))
	if !c.caughtUp() {
		t.Fatal("every partition is at its high watermark")
	}
}

func TestMergePendingKeepsTheLatestStatePerKeyAndTheHighestOffsets(t *testing.T) {
	msg := func(k, v string) kafka.Message { return kafka.Message{Key: []byte(k), Value: []byte(v)} }
	start := time.Now()
	tests := []struct {
		name        string
		queued      []pending
		wantState   map[string]string
		wantOffsets map[int]int64
		wantRows    int
	}{
		{
			name:        "one batch is passed through",
			queued:      []pending{{state: []kafka.Message{msg("a", "1")}, offsets: nextOffsets(map[int]int64{0: 5}), start: start, rows: 3}},
			wantState:   map[string]string{"a": "1"},
			wantOffsets: map[int]int64{0: 5},
			wantRows:    3,
		},
		{
			name: "later batches and ticks win per key, offsets take the maximum per partition",
			queued: []pending{
				{state: []kafka.Message{msg("a", "1"), msg("b", "1")}, offsets: nextOffsets(map[int]int64{0: 5, 1: 9}), rows: 4},
				{state: []kafka.Message{msg("a", "2"), msg("c", "1")}}, // a tick
				{state: []kafka.Message{msg("b", "3")}, offsets: nextOffsets(map[int]int64{0: 7, 2: 1}), rows: 2},
			},
			wantState:   map[string]string{"a": "2", "b": "3", "c": "1"},
			wantOffsets: map[int]int64{0: 7, 1: 9, 2: 1},
			wantRows:    6,
		},
		{
			name:        "only ticks: nothing to commit",
			queued:      []pending{{state: []kafka.Message{msg("a", "1")}}, {state: []kafka.Message{msg("a", "")}}},
			wantState:   map[string]string{"a": ""},
			wantOffsets: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			state, offsets, rows := mergePending(tt.queued)
			got := map[string]string{}
			for _, m := range state {
				if _, dup := got[string(m.Key)]; dup {
					t.Errorf("key %q published twice", m.Key)
				}
				got[string(m.Key)] = string(m.Value)
			}
			if !maps.Equal(got, tt.wantState) {
				t.Errorf("state %v, want %v", got, tt.wantState)
			}
			if !maps.Equal(offsets, nextOffsets(tt.wantOffsets)) || (offsets == nil) != (tt.wantOffsets == nil) {
				t.Errorf("offsets %v, want %v", offsets, tt.wantOffsets)
			}
			if rows != tt.wantRows {
				t.Errorf("rows %d, want %d", rows, tt.wantRows)
			}
		})
	}
}

func TestDrainPendingTakesWhatIsQueuedWithoutBlocking(t *testing.T) {
	after := make(chan pending, 4)
	after <- pending{rows: 1}
	after <- pending{rows: 2}
	got := drainPending([]pending{{rows: 0}}, after)
	if len(got) != 3 || got[2].rows != 2 {
		t.Fatalf("drained %+v", got)
	}
	close(after)
	if got := drainPending(nil, after); len(got) != 0 {
		t.Fatalf("drained %+v from a closed, empty queue", got)
	}
}

// nextOffsets turns next offsets per partition into stream.Offsets (no high watermarks).
func nextOffsets(next map[int]int64) stream.Offsets {
	if next == nil {
		return nil
	}
	o := stream.Offsets{}
	for p, n := range next {
		o[p] = stream.Offset{Next: n}
	}
	return o
}
