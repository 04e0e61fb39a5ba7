package assessor

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"github.com/riverwatch/riverwatch/pkg/config"
	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/network"
)

func TestConfigFromTheRiverwatchConfiguration(t *testing.T) {
	c := config.Default()
	c.Kafka.GroupPrefix = "x"
	got := ConfigFrom(&c)
	if got.GroupID != "x.assessor" || got.ReadingsTopic != message.TopicReadings || got.EventsTopic != message.TopicEvents ||
		got.StateTopic != "riverwatch.assessor-state" || got.BatchTimeout != 200*time.Microsecond ||
		got.MaxDelay != time.Millisecond || got.Options.ConfirmReadings != 3 {
		t.Errorf("config %+v", got)
	}
}

func TestNewRejectsAnIncompleteConfiguration(t *testing.T) {
	net, err := network.Load(filepath.Join("..", "..", "configs", "sites.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	c := config.Default()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for name, mutate := range map[string]func(*Config){
		"no brokers":     func(c *Config) { c.Brokers = nil },
		"no state topic": func(c *Config) { c.StateTopic = "" },
		"bad option":     func(c *Config) { c.Options.ClearRatio = 2 },
	} {
		t.Run(name, func(t *testing.T) {
			cfg := ConfigFrom(&c)
			mutate(&cfg)
			if _, err := New(cfg, net, prometheus.NewRegistry(), log); err == nil {
				t.Error("no error")
			}
		})
	}
	if _, err := New(ConfigFrom(&c), net, prometheus.NewRegistry(), log); err != nil {
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
	got := a.rejection(m, errors.New("unexpected end of JSON input"))
	var rej message.Rejection
	if err := json.Unmarshal(got.Value, &rej); err != nil {
		t.Fatal(err)
	}
	if rej.Reason != "decode" || rej.Raw != "{garbage" || rej.Detail != "readings partition 2 offset 41: unexpected end of JSON input" ||
		string(got.Key) != rej.ID || rej.ID == "" {
		t.Errorf("rejection %+v", rej)
	}
	if again := a.rejection(m, errors.New("other")); string(again.Key) != rej.ID {
		t.Error("the id of a replayed rejection changed")
	}
}

func TestCatchUpWaitsForTheHighWatermarkOfEveryPartition(t *testing.T) {
	assigned := []kafka.PartitionAssignment{{ID: 0, Offset: kafka.FirstOffset}, {ID: 1, Offset: 50}, {ID: 2, Offset: 7}}
	c := newCatchUp(assigned, map[int]int64{0: 10, 1: 50, 2: 0})
	if c.caughtUp() {
		t.Fatal("partition 0 has 10 readings to go")
	}
	c.done(map[int]int64{0: 9})
	if c.caughtUp() {
		t.Fatal("one more reading on partition 0")
	}
	c.done(map[int]int64{0: 10})
	if !c.caughtUp() {
		t.Fatal("every partition is at its high watermark")
	}
}
