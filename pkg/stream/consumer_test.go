package stream

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/segmentio/kafka-go"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func msg(partition int, offset int64) kafka.Message {
	return kafka.Message{Topic: "t", Partition: partition, Offset: offset, HighWaterMark: 100 + int64(partition), Value: []byte("v")}
}

func TestOffsetsOfCommitsTheOffsetAfterTheLastMessageOfEachPartition(t *testing.T) {
	tests := []struct {
		name string
		msgs []kafka.Message
		want Offsets
	}{
		{name: "no messages: nothing to commit", want: Offsets{}},
		{
			name: "one partition: the last offset plus one",
			msgs: []kafka.Message{msg(0, 3), msg(0, 4), msg(0, 5)},
			want: Offsets{0: {Next: 6, HighWaterMark: 100}},
		},
		{
			name: "several partitions, interleaved and out of order: the highest of each",
			msgs: []kafka.Message{msg(1, 9), msg(0, 3), msg(1, 7), msg(2, 0), msg(0, 8), msg(0, 4)},
			want: Offsets{0: {Next: 9, HighWaterMark: 100}, 1: {Next: 10, HighWaterMark: 101}, 2: {Next: 1, HighWaterMark: 102}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := OffsetsOf(tt.msgs); !maps.Equal(got, tt.want) {
				t.Errorf("OffsetsOf = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestOffsetsMergeKeepsTheLaterOffsetOfEachPartition(t *testing.T) {
	o := Offsets{0: {Next: 5}, 1: {Next: 9}}
	o.Merge(Offsets{0: {Next: 7, HighWaterMark: 20}, 1: {Next: 3}, 2: {Next: 1}})
	want := Offsets{0: {Next: 7, HighWaterMark: 20}, 1: {Next: 9}, 2: {Next: 1}}
	if !maps.Equal(o, want) {
		t.Errorf("merged %v, want %v", o, want)
	}
}

// fakeCommitter records commits; err, when set, fails them.
type fakeCommitter struct {
	mu      sync.Mutex
	commits []map[int]int64
	err     error
}

func (f *fakeCommitter) CommitOffsets(o map[string]map[int]int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	f.commits = append(f.commits, maps.Clone(o["t"]))
	return nil
}

func (f *fakeCommitter) committed() []map[int]int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.commits)
}

// instantBackOff retries at once, so that the retry tests take no time.
func instantBackOff() backoff.BackOff { return &backoff.ZeroBackOff{} }

func TestHandlerSessionCommitsOnlyAfterTheHandlerSucceeded(t *testing.T) {
	batch := Batch{Messages: []kafka.Message{msg(0, 10), msg(1, 4), msg(0, 11)}}
	errStore := errors.New("store unavailable")
	tests := []struct {
		name string
		// handler is called with the attempt number (1, 2, …) and a cancel for the ctx.
		handler       func(attempt int, cancel func()) error
		commitErr     error
		wantAttempts  int
		wantErr       bool
		wantCommits   []map[int]int64
		wantFailures  float64
		wantCommitted map[string]float64 // partition → last committed offset gauge
		wantLag       map[string]float64
	}{
		{
			name:          "a handler that succeeds commits the offset after the last message of each partition",
			handler:       func(int, func()) error { return nil },
			wantAttempts:  1,
			wantCommits:   []map[int]int64{{0: 12, 1: 5}},
			wantCommitted: map[string]float64{"0": 12, "1": 5},
			wantLag:       map[string]float64{"0": 100 - 12, "1": 101 - 5},
		},
		{
			name: "a failing handler is retried with the same batch, and committed once when it succeeds",
			handler: func(attempt int, _ func()) error {
				if attempt < 3 {
					return errStore
				}
				return nil
			},
			wantAttempts: 3,
			wantCommits:  []map[int]int64{{0: 12, 1: 5}},
		},
		{
			name: "a handler failing while the consumer stops commits nothing and is not retried",
			handler: func(_ int, cancel func()) error {
				cancel()
				return errStore
			},
			wantAttempts: 1,
			wantErr:      true,
		},
		{
			name:         "a permanent error is not retried, commits nothing and stops the consumer",
			handler:      func(int, func()) error { return backoff.Permanent(errStore) },
			wantAttempts: 1,
			wantErr:      true,
		},
		{
			name:         "a failed commit is counted but not fatal: the batch was durable",
			handler:      func(int, func()) error { return nil },
			commitErr:    errors.New("rebalance in progress"),
			wantAttempts: 1,
			wantFailures: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			reg := prometheus.NewRegistry()
			m := NewMetrics(reg, "test")
			fc := &fakeCommitter{err: tt.commitErr}
			c := NewConsumer(ConsumerConfig{Topic: "t", Logger: quiet(), Metrics: m})
			g := newGeneration("t", 1, []kafka.PartitionAssignment{{ID: 0, Offset: 10}, {ID: 1, Offset: 4}}, fc, m, quiet())
			var (
				attempts int
				seen     [][]kafka.Message
			)
			s := &handlerSession{g: g, c: c, backoff: instantBackOff, h: func(_ context.Context, b []kafka.Message) error {
				attempts++
				seen = append(seen, b)
				return tt.handler(attempts, cancel)
			}}
			err := s.Handle(ctx, batch)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Handle = %v, want error %v", err, tt.wantErr)
			}
			if tt.wantErr && ctx.Err() == nil && !errors.Is(err, errStore) {
				t.Errorf("Handle = %v, want the handler's error", err)
			}
			if attempts != tt.wantAttempts {
				t.Errorf("handler called %d times, want %d", attempts, tt.wantAttempts)
			}
			for i, b := range seen {
				if !slices.EqualFunc(b, batch.Messages, func(a, b kafka.Message) bool { return a.Partition == b.Partition && a.Offset == b.Offset }) {
					t.Errorf("attempt %d got another batch: %v", i+1, b)
				}
			}
			got := fc.committed()
			if len(got) != len(tt.wantCommits) {
				t.Fatalf("commits %v, want %v", got, tt.wantCommits)
			}
			for i := range got {
				if !maps.Equal(got[i], tt.wantCommits[i]) {
					t.Errorf("commit %d = %v, want %v", i, got[i], tt.wantCommits[i])
				}
			}
			if f := value(m.commitFailures.WithLabelValues("t")); f != tt.wantFailures {
				t.Errorf("commit failures = %v, want %v", f, tt.wantFailures)
			}
			for p, want := range tt.wantCommitted {
				if got := value(m.committed.WithLabelValues("t", p)); got != want {
					t.Errorf("last committed offset of partition %s = %v, want %v", p, got, want)
				}
			}
			for p, want := range tt.wantLag {
				if got := value(m.lag.WithLabelValues("t", p)); got != want {
					t.Errorf("lag of partition %s = %v, want %v", p, got, want)
				}
			}
		})
	}
}

func TestANewGenerationResetsTheLastCommittedOffsetsToItsPartitions(t *testing.T) {
	m := NewMetrics(prometheus.NewRegistry(), "test")
	fc := &fakeCommitter{}
	g := newGeneration("t", 1, []kafka.PartitionAssignment{{ID: 0}, {ID: 1}}, fc, m, quiet())
	if err := g.Commit(Offsets{0: {Next: 5, HighWaterMark: 9}, 1: {Next: 2, HighWaterMark: 2}}); err != nil {
		t.Fatal(err)
	}
	newGeneration("t", 2, []kafka.PartitionAssignment{{ID: 1}}, fc, m, quiet())
	if n := count(m.committed); n != 1 {
		t.Errorf("%d last-committed series after partition 0 moved away, want 1", n)
	}
	if got := value(m.committed.WithLabelValues("t", "1")); got != -1 {
		t.Errorf("last committed offset before the generation's first commit = %v, want -1", got)
	}
	if n := count(m.lag); n != 0 {
		t.Errorf("%d lag series kept from the previous generation", n)
	}
}

func TestNewMetricsTwiceOnOneRegistryShareTheCollectors(t *testing.T) {
	reg := prometheus.NewRegistry()
	a, b := NewMetrics(reg, "test"), NewMetrics(reg, "test")
	a.fetched("t", 2)
	b.fetched("t", 3)
	if got := value(a.records.WithLabelValues("t")); got != 5 {
		t.Errorf("records = %v, want 5 counted by both", got)
	}
}

func TestCutterCutsBatchesByRowsBytesAndDelay(t *testing.T) {
	queued := func(n int, size int) chan kafka.Message {
		ch := make(chan kafka.Message, n)
		for i := range n {
			ch <- kafka.Message{Offset: int64(i), Value: make([]byte, size)}
		}
		return ch
	}
	tests := []struct {
		name   string
		cut    cutter
		queued chan kafka.Message
		want   int
	}{
		{name: "no delay: what is queued", cut: cutter{maxRows: 100, maxBytes: 1 << 20}, queued: queued(7, 1), want: 7},
		{name: "at most maxRows", cut: cutter{maxRows: 5, maxBytes: 1 << 20, maxDelay: time.Hour}, queued: queued(7, 1), want: 5},
		{name: "at most maxBytes (the message that crosses it included)", cut: cutter{maxRows: 100, maxBytes: 25, maxDelay: time.Hour}, queued: queued(7, 10), want: 3},
		{name: "a delay waits for more, then cuts", cut: cutter{maxRows: 100, maxBytes: 1 << 20, maxDelay: 20 * time.Millisecond}, queued: queued(2, 1), want: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, ok := tt.cut.next(context.Background(), tt.queued)
			if !ok || len(b.Messages) != tt.want {
				t.Fatalf("batch of %d (ok %v), want %d", len(b.Messages), ok, tt.want)
			}
			for i, m := range b.Messages {
				if m.Offset != int64(i) {
					t.Fatalf("message %d has offset %d: order lost", i, m.Offset)
				}
			}
		})
	}
	t.Run("stopped before a first message: no batch", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, ok := (cutter{maxRows: 1, maxBytes: 1}).next(ctx, make(chan kafka.Message)); ok {
			t.Error("a batch from an empty channel after stop")
		}
	})
}

// fakeGeneration runs started functions like kafka.Generation: the generation ends (their
// ctx is cancelled) when any of them returns.
type fakeGeneration struct {
	fakeCommitter
	ctx  context.Context
	end  context.CancelFunc
	wg   sync.WaitGroup
	once sync.Once
}

func newFakeGeneration() *fakeGeneration {
	g := &fakeGeneration{}
	g.ctx, g.end = context.WithCancel(context.Background())
	return g
}

func (g *fakeGeneration) Start(f func(context.Context)) {
	g.wg.Go(func() {
		f(g.ctx)
		g.end()
	})
}

// fakeFetcher serves msgs, then blocks until ctx is done.
type fakeFetcher struct{ msgs []kafka.Message }

func (f *fakeFetcher) FetchMessage(ctx context.Context) (kafka.Message, error) {
	if len(f.msgs) == 0 {
		<-ctx.Done()
		return kafka.Message{}, ctx.Err()
	}
	m := f.msgs[0]
	f.msgs = f.msgs[1:]
	return m, nil
}

func (f *fakeFetcher) Close() error { return nil }

func TestAGenerationHandsEveryMessageToTheSessionInOrderAndCommitsWhatWasHandled(t *testing.T) {
	perPartition := map[int][]kafka.Message{}
	for p := range 3 {
		for off := range int64(50) {
			perPartition[p] = append(perPartition[p], msg(p, 10+off))
		}
	}
	c := NewConsumer(ConsumerConfig{Topic: "t", MaxRows: 7, Logger: quiet()})
	c.newFetcher = func(a Assignment) (fetcher, error) {
		if a.Offset != 10 {
			t.Errorf("partition %d fetched from %d, want the committed offset 10", a.Partition, a.Offset)
		}
		return &fakeFetcher{msgs: perPartition[a.Partition]}, nil
	}
	kgen := newFakeGeneration()
	g := newGeneration("t", 1, []kafka.PartitionAssignment{{ID: 0, Offset: 10}, {ID: 1, Offset: 10}, {ID: 2, Offset: 10}}, kgen, nil, quiet())

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := map[int][]int64{}
	var total int
	h := func(_ context.Context, b []kafka.Message) error {
		if len(b) > 7 {
			t.Errorf("batch of %d, more than MaxRows", len(b))
		}
		for _, m := range b {
			got[m.Partition] = append(got[m.Partition], m.Offset)
		}
		if total += len(b); total == 150 {
			cancel()
		}
		return nil
	}
	var closed bool
	open := func(_ context.Context, g *Generation) (Session, error) {
		return &closeRecorder{Session: &handlerSession{h: h, g: g, c: c, backoff: instantBackOff}, closed: &closed}, nil
	}
	done := make(chan struct{})
	kgen.Start(func(gctx context.Context) {
		defer close(done)
		c.generation(ctx, gctx, g, kgen, open, func(err error) { t.Errorf("consumer failed: %v", err) })
	})
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the generation did not end after its ctx was cancelled")
	}
	kgen.wg.Wait()
	if !closed {
		t.Error("the session was not closed at the end of the generation")
	}
	last := map[int]int64{}
	for _, c := range kgen.committed() {
		for p, next := range c {
			if next <= last[p] {
				t.Errorf("partition %d committed %d after %d", p, next, last[p])
			}
			last[p] = next
		}
	}
	for p := range 3 {
		if !slices.IsSorted(got[p]) || len(got[p]) != 50 {
			t.Errorf("partition %d handled %v, want offsets 10…59 in order", p, got[p])
		}
		if last[p] != 60 {
			t.Errorf("partition %d last committed %d, want 60", p, last[p])
		}
	}
}

type closeRecorder struct {
	Session
	closed *bool
}

func (c *closeRecorder) Close() { *c.closed = true; c.Session.Close() }

// value reads a counter or gauge.
func value(m prometheus.Metric) float64 {
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		panic(err)
	}
	if d.Counter != nil {
		return d.Counter.GetValue()
	}
	return d.Gauge.GetValue()
}

// count returns how many series c holds.
func count(c prometheus.Collector) int {
	ch := make(chan prometheus.Metric, 64)
	go func() { c.Collect(ch); close(ch) }()
	n := 0
	for range ch {
		n++
	}
	return n
}
