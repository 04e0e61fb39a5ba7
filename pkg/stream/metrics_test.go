package stream

import (
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestPublishMetricsTimeEveryCallAndCountTheFailedOnes(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg, "test")
	m.published("events", 0.002, nil)
	m.published("events", 0.004, errors.New("not enough replicas"))
	m.published("state", 0.001, nil)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]map[string]float64{}
	for _, mf := range mfs {
		for _, s := range mf.GetMetric() {
			label := s.GetLabel()[0].GetValue()
			if got[mf.GetName()] == nil {
				got[mf.GetName()] = map[string]float64{}
			}
			switch {
			case s.Histogram != nil:
				got[mf.GetName()][label] = float64(s.Histogram.GetSampleCount())
			case s.Counter != nil:
				got[mf.GetName()][label] = s.Counter.GetValue()
			}
		}
	}
	want := map[string]map[string]float64{
		"riverwatch_test_publish_duration_seconds": {"events": 2, "state": 1},
		"riverwatch_test_publish_failures_total":   {"events": 1},
	}
	for name, series := range want {
		for label, n := range series {
			if got[name][label] != n {
				t.Errorf("%s{topic=%q} = %v, want %v", name, label, got[name][label], n)
			}
		}
	}
	if _, ok := got["riverwatch_test_publish_failures_total"]["state"]; ok {
		t.Error("a failure counted for a publish that succeeded")
	}
}

func TestNilMetricsRecordNothing(t *testing.T) {
	var m *Metrics
	m.fetched("t", 1)
	m.generation("t", []int{0})
	m.commit("t", Offsets{0: {Next: 1}}, nil)
	m.published("t", 1, nil)
}
