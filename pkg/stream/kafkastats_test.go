package stream

import (
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// counterOf returns the value of the counter name{topic} in reg, and whether it exists.
func counterOf(t *testing.T, reg *prometheus.Registry, name, topic string) (float64, bool) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "topic" && l.GetValue() == topic && mf.GetType() == dto.MetricType_COUNTER {
					return m.GetCounter().GetValue(), true
				}
			}
		}
	}
	return 0, false
}

// kafka-go hands out counts since the previous call; the exported counters add them up per
// topic label, over every client of that label, and keep a closed client's counts.
func TestClientStatisticsAddUpAcrossScrapesClientsAndCloses(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg, "test")
	next := func(deltas ...[]float64) func() []float64 {
		return func() []float64 {
			if len(deltas) == 0 {
				return make([]float64, len(writerStatNames))
			}
			d := deltas[0]
			deltas = deltas[1:]
			return d
		}
	}
	a, b := new(int), new(int)
	m.writers.add(a, "events", next([]float64{1, 10, 1000, 0, 0}, []float64{2, 5, 500, 1, 3}))
	m.writers.add(b, "events", next([]float64{1, 1, 100, 0, 0}))
	if got, _ := counterOf(t, reg, "riverwatch_test_kafka_writer_messages_total", "events"); got != 11 {
		t.Errorf("messages after the first scrape = %v, want 11 (both writers)", got)
	}
	m.writers.remove(a) // its last counts are folded in on close
	if got, _ := counterOf(t, reg, "riverwatch_test_kafka_writer_messages_total", "events"); got != 16 {
		t.Errorf("messages after a writer closed = %v, want 16", got)
	}
	for name, want := range map[string]float64{"writes": 4, "bytes": 1600, "errors": 1, "retries": 3} {
		if got, _ := counterOf(t, reg, "riverwatch_test_kafka_writer_"+name+"_total", "events"); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	// Again on the same registry (another component of the service): the same collectors.
	m2 := NewMetrics(reg, "test")
	m2.writers.add(new(int), "state", next([]float64{1, 2, 3, 0, 0}))
	if got, ok := counterOf(t, reg, "riverwatch_test_kafka_writer_messages_total", "state"); !ok || got != 2 {
		t.Errorf("messages of the second component's writer = %v (%v), want 2", got, ok)
	}
	var nilM *Metrics
	nilM.addWriter("x", nil) // a nil *Metrics records nothing
	nilM.removeWriter(nil)
}

// A successful commit and an acknowledged publish stamp their time; failures do not, so
// time() minus the stamp is how long nothing has progressed.
func TestLastSuccessTimestampsMoveOnlyOnSuccess(t *testing.T) {
	m := NewMetrics(prometheus.NewRegistry(), "test")
	before := float64(time.Now().Unix())
	m.commit("t", Offsets{0: {Next: 5, HighWaterMark: 9}}, nil)
	m.published("events", 0.001, nil)
	commit, publish := value(m.lastCommit.WithLabelValues("t")), value(m.lastPublish.WithLabelValues("events"))
	if commit < before || publish < before {
		t.Fatalf("last commit %v, last publish %v; want at least %v", commit, publish, before)
	}
	m.commit("u", nil, errors.New("rebalance"))
	m.published("state", 0.001, errors.New("not acknowledged"))
	if v := value(m.lastCommit.WithLabelValues("u")); v != 0 {
		t.Errorf("a failed commit stamped %v", v)
	}
	if v := value(m.lastPublish.WithLabelValues("state")); v != 0 {
		t.Errorf("a failed publish stamped %v", v)
	}
}
