package archiver

import (
	"testing"

	"github.com/riverwatch/riverwatch/pkg/store/storetest"
	"github.com/riverwatch/riverwatch/pkg/stream"
)

// env is a test's archive (storetest.Archive, which holds the helpers these tests share
// with pkg/store's) with the metrics of the archiver's Kafka consumers registered beside
// the store's.
type env struct {
	*storetest.Archive
	km *stream.Metrics // riverwatch_archiver_kafka_*, on the archive's Registry
}

func newEnv(t testing.TB) *env {
	t.Helper()
	a := storetest.NewArchive(t)
	return &env{Archive: a, km: stream.NewMetrics(a.Registry, "archiver")}
}

// gauges returns the values of a gauge on the archive's Registry whose labels include
// match, one per series.
func (e *env) gauges(t testing.TB, name string, match map[string]string) []float64 {
	t.Helper()
	mfs, err := e.Registry.Gather()
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
