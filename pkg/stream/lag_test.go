package stream

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
)

// fakeEnds is a broker whose partitions grow on demand.
type fakeEnds struct {
	mu   sync.Mutex
	last map[int]int64
	asks atomic.Int32
}

func (f *fakeEnds) list(_ context.Context, _ string, parts []int) (partitionEnds, error) {
	f.asks.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	out := partitionEnds{}
	for _, p := range parts {
		out[p] = struct{ first, last int64 }{0, f.last[p]}
	}
	return out, nil
}

func (f *fakeEnds) set(p int, last int64) {
	f.mu.Lock()
	f.last[p] = last
	f.mu.Unlock()
}

// A consumer whose handler is stuck commits nothing, yet its lag keeps rising with what
// arrives on the topic: measured against the brokers every LagInterval, not frozen at the
// last commit. Once the handler commits, the lag falls to what is left.
func TestLagKeepsRisingWhileTheHandlerIsStuck(t *testing.T) {
	m := NewMetrics(prometheus.NewRegistry(), "test")
	c := NewConsumer(ConsumerConfig{Topic: "t", MaxRows: 10, Logger: quiet(), Metrics: m, LagInterval: 5 * time.Millisecond})
	ends := &fakeEnds{last: map[int]int64{0: 10, 1: 0}}
	c.listEnds = ends.list
	c.newFetcher = func(a Assignment) (fetcher, error) {
		var msgs []kafka.Message
		if a.Partition == 0 {
			msgs = []kafka.Message{msg(0, 5)}
		}
		return &fakeFetcher{msgs: msgs}, nil
	}
	kgen := newFakeGeneration()
	// Partition 0 committed up to 5 by an earlier generation; partition 1 never (a new group).
	g := newGeneration("t", 1, []kafka.PartitionAssignment{{ID: 0, Offset: 5}, {ID: 1, Offset: kafka.FirstOffset}}, kgen, m, quiet())

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	release := make(chan struct{})
	h := func(ctx context.Context, b []kafka.Message) error {
		select { // stuck: ClickHouse, say, does not answer
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	open := func(_ context.Context, g *Generation) (Session, error) {
		return &handlerSession{h: h, g: g, c: c, backoff: instantBackOff}, nil
	}
	done := make(chan struct{})
	kgen.Start(func(gctx context.Context) {
		defer close(done)
		c.generation(ctx, gctx, g, kgen, open, func(err error) { t.Errorf("consumer failed: %v", err) })
	})

	lag := func(p string) float64 { return value(m.lag.WithLabelValues("t", p)) }
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: lag p0 %v, p1 %v after %d measurements", what, lag("0"), lag("1"), ends.asks.Load())
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	waitFor("lag of the stuck consumer", func() bool { return lag("0") == 5 })
	ends.set(0, 1000) // records keep arriving; nothing is committed
	ends.set(1, 40)
	waitFor("lag growing while stuck", func() bool { return lag("0") == 995 && lag("1") == 40 })
	if got := kgen.committed(); len(got) != 0 {
		t.Fatalf("committed %v while the handler was stuck", got)
	}

	close(release) // the batch (offset 5 of partition 0) becomes durable and is committed
	waitFor("lag after the commit", func() bool { return lag("0") == 994 })
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the generation (and its lag watcher) did not end after its ctx was cancelled")
	}
	kgen.wg.Wait()
	n := ends.asks.Load()
	time.Sleep(30 * time.Millisecond)
	if ends.asks.Load() != n {
		t.Error("the lag watcher still asks the brokers after its generation ended")
	}
}

// Without metrics, or with a negative interval, nobody asks the brokers.
func TestNoLagWatcherWithoutMetricsOrWithANegativeInterval(t *testing.T) {
	for name, cfg := range map[string]ConsumerConfig{
		"no metrics":        {Topic: "t", LagInterval: time.Millisecond},
		"negative interval": {Topic: "t", Metrics: NewMetrics(prometheus.NewRegistry(), "test"), LagInterval: -1},
	} {
		t.Run(name, func(t *testing.T) {
			cfg.Logger = quiet()
			c := NewConsumer(cfg)
			ends := &fakeEnds{last: map[int]int64{}}
			c.listEnds = ends.list
			c.newFetcher = func(Assignment) (fetcher, error) { return &fakeFetcher{}, nil }
			kgen := newFakeGeneration()
			g := newGeneration("t", 1, []kafka.PartitionAssignment{{ID: 0}}, kgen, cfg.Metrics, quiet())
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
			defer cancel()
			open := func(_ context.Context, g *Generation) (Session, error) {
				return &handlerSession{h: func(context.Context, []kafka.Message) error { return nil }, g: g, c: c, backoff: instantBackOff}, nil
			}
			kgen.Start(func(gctx context.Context) { c.generation(ctx, gctx, g, kgen, open, func(error) {}) })
			kgen.wg.Wait()
			if n := ends.asks.Load(); n != 0 {
				t.Errorf("asked the brokers %d times", n)
			}
		})
	}
}
