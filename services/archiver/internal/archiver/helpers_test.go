package archiver

import (
	"context"
	"testing"

	"github.com/riverwatch/riverwatch/pkg/config"
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

// runArchiver runs an Archiver over the env's archive with cfg until the returned stop is
// called, which reports the error Run returned.
func (e *env) runArchiver(t *testing.T, cfg *config.Config) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- NewArchiver(cfg, stream.Plain(cfg.Kafka.Brokers...), e.Writer, e.Metrics, e.km, storetest.Quiet()).Run(ctx)
	}()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("archiver: %v", err)
		}
	}
}
