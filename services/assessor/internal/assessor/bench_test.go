package assessor_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"github.com/riverwatch/riverwatch/pkg/config"
	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/network"
	"github.com/riverwatch/riverwatch/pkg/stream"
	"github.com/riverwatch/riverwatch/pkg/testinfra"
	"github.com/riverwatch/riverwatch/services/assessor/internal/assessor"
)

// benchSites is the size of the benchmarks' network: sections each alone on a river, so
// an event is one event (no predictions fan out).
const benchSites = 200

func benchNetwork(b *testing.B) *network.Network {
	b.Helper()
	var sb strings.Builder
	sb.WriteString("timezone: Asia/Shanghai\njurisdictions:\n  - {id: j, name: j}\nrivers:\n")
	for i := 0; i < benchSites; i++ {
		fmt.Fprintf(&sb, "  - {id: r%d, name: r%d, velocity_mps: 1, flow_m3s: 5}\n", i, i)
	}
	sb.WriteString("sites:\n")
	for i := 0; i < benchSites; i++ {
		fmt.Fprintf(&sb, "  - {id: B%03d, name: b, kind: section, river: r%d, km: 1, jurisdiction: j, target_class: III, station: {mn: \"%d\", password: x}}\n", i, i, i)
	}
	n, err := network.Parse([]byte(sb.String()))
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// startInProcess runs an assessor in this process and waits until it is ready. The
// returned function stops it.
func startInProcess(b *testing.B, cfg *config.Config, net *network.Network) (*prometheus.Registry, func()) {
	b.Helper()
	reg := prometheus.NewRegistry()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ac, err := assessor.ConfigFrom(cfg)
	if err != nil {
		b.Fatal(err)
	}
	a, err := assessor.NewAssessor(ac, net, reg, log)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, nil) }()
	testinfra.Eventually(b, 60*time.Second, "assessor ready", a.Ready)
	return reg, func() {
		cancel()
		if err := <-done; err != nil {
			b.Error(err)
		}
	}
}

// readingGen produces the benchmark's readings: mercury at the benchSites sites in turn,
// clean (0.00001–0.00003 mg/L, varying so no flat line), except one reading in n at each
// site, which is 0.0005 mg/L (toxic, opens at once); the three clean readings that follow
// at that site clear it. So about 2 readings in n cause an event.
type readingGen struct {
	n    int
	i    int
	step []int // per site: readings so far, for observed times
}

func (g *readingGen) next(now time.Time) (kafka.Message, bool) {
	site := g.i % benchSites
	if g.step == nil {
		g.step = make([]int, benchSites)
	}
	g.step[site]++
	obs := base.Add(time.Duration(g.step[site]) * time.Minute)
	v := 0.00001 + 0.00001*float64(g.i%3)
	// Each site spikes once in n of its readings, the sites staggered.
	spike := (g.step[site]+site)%g.n == 0
	if spike {
		v = 0.0005
	}
	g.i++
	id := fmt.Sprintf("B%03d", site)
	rd := message.Reading{
		ID: message.ReadingID(id, "hg", message.IntervalMinute, obs), Site: id, Parameter: "hg", Value: v,
		Interval: message.IntervalMinute, Flag: message.FlagNormal, ObservedAt: obs, ReceivedAt: now,
		Source: message.SourceHJ212,
	}
	val, _ := json.Marshal(rd)
	return kafka.Message{Key: []byte(id), Value: val, Time: now}, spike
}

// BenchmarkEventLatency publishes readings at a fixed rate (1,000 and 10,000 per second)
// to a real Kafka, with an assessor consuming, and measures for every event the time from
// its reading's publication to the event's publication (the event message's timestamp,
// taken when the assessor writes it) and to its arrival at a consumer. It reports p50 and
// p99 of both, and the rate achieved.
//
//	RIVERWATCH_INTEGRATION=1 go test ./services/assessor/internal/assessor -run XXX -bench EventLatency -benchtime 1x
//
// RIVERWATCH_BENCH_SECONDS sets how long each rate runs (default 10).
func BenchmarkEventLatency(b *testing.B) {
	testinfra.Require(b)
	seconds := 10
	if s, err := strconv.Atoi(os.Getenv("RIVERWATCH_BENCH_SECONDS")); err == nil && s > 0 {
		seconds = s
	}
	for _, rate := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("rate=%d", rate), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				latencyRun(b, rate, time.Duration(seconds)*time.Second)
			}
		})
	}
}

func latencyRun(b *testing.B, rate int, dur time.Duration) {
	cfg := testinfra.Config(b)
	// Tuning knobs for experiments: RIVERWATCH_ASSESSOR_MAX_DELAY and
	// RIVERWATCH_ASSESSOR_PUBLISH_BATCH_TIMEOUT, as for the service.
	if d, err := time.ParseDuration(os.Getenv("RIVERWATCH_ASSESSOR_MAX_DELAY")); err == nil {
		cfg.Assessor.MaxDelay = d
	}
	if d, err := time.ParseDuration(os.Getenv("RIVERWATCH_ASSESSOR_PUBLISH_BATCH_TIMEOUT")); err == nil {
		cfg.Assessor.PublishBatchTimeout = d
	}
	_, stop := startInProcess(b, cfg, benchNetwork(b))
	defer stop()

	// Collect events as they arrive.
	type arrival struct {
		ev       message.Event
		produced time.Time
		received time.Time
	}
	var (
		mu       sync.Mutex
		arrivals []arrival
	)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	parts, err := partitionsOf(cfg.Kafka.Brokers, cfg.Kafka.Topics.Events)
	if err != nil {
		b.Fatal(err)
	}
	for _, p := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := kafka.NewReader(kafka.ReaderConfig{
				Brokers: cfg.Kafka.Brokers, Topic: cfg.Kafka.Topics.Events, Partition: p,
				MinBytes: 1, MaxBytes: 10 << 20, MaxWait: 10 * time.Millisecond,
			})
			defer r.Close()
			for {
				m, err := r.ReadMessage(ctx)
				if err != nil {
					return
				}
				now := time.Now()
				var ev message.Event
				if json.Unmarshal(m.Value, &ev) != nil {
					continue
				}
				mu.Lock()
				arrivals = append(arrivals, arrival{ev: ev, produced: m.Time, received: now})
				mu.Unlock()
			}
		}()
	}

	w := stream.NewWriter(stream.WriterConfig{Cluster: stream.Plain(cfg.Kafka.Brokers...), Topic: cfg.Kafka.Topics.Readings, BatchTimeout: time.Millisecond}, nil)
	defer w.Close()
	warmUp(b, w)
	gen := &readingGen{n: 100}
	// Publish every 10 ms the readings due by then; several publishers in flight so that
	// one slow acknowledgement does not stall the rate.
	const tick = 10 * time.Millisecond
	perTick := rate * int(tick) / int(time.Second)
	sem := make(chan struct{}, 4)
	var pubWG sync.WaitGroup
	start := time.Now()
	sent, spikes := 0, 0
	b.ResetTimer()
	for next := start; time.Since(start) < dur; next = next.Add(tick) {
		time.Sleep(time.Until(next))
		now := time.Now()
		msgs := make([]kafka.Message, 0, perTick)
		for j := 0; j < perTick; j++ {
			m, spike := gen.next(now)
			msgs = append(msgs, m)
			if spike {
				spikes++
			}
		}
		sent += len(msgs)
		sem <- struct{}{}
		pubWG.Add(1)
		go func() {
			defer pubWG.Done()
			defer func() { <-sem }()
			if err := w.Publish(context.Background(), msgs...); err != nil {
				b.Error(err)
			}
		}()
	}
	pubWG.Wait()
	elapsed := time.Since(start)
	// Every spike opens an exceedance; wait for them, with the clearings that follow.
	testinfra.Eventually(b, 60*time.Second, "events of every spike", func() bool {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, a := range arrivals {
			if a.ev.Type == message.EventExceedanceOpened {
				n++
			}
		}
		return n >= spikes
	})
	b.StopTimer()
	cancel()
	wg.Wait()

	var toProduce, toConsume []time.Duration
	for _, a := range arrivals {
		if a.ev.ReadingReceivedAt.IsZero() {
			continue
		}
		toProduce = append(toProduce, a.produced.Sub(a.ev.ReadingReceivedAt))
		toConsume = append(toConsume, a.received.Sub(a.ev.ReadingReceivedAt))
	}
	b.ReportMetric(float64(sent)/elapsed.Seconds(), "readings/s")
	b.ReportMetric(float64(len(toProduce)), "events")
	b.ReportMetric(ms(pct(toProduce, 0.50)), "p50-publish-ms")
	b.ReportMetric(ms(pct(toProduce, 0.99)), "p99-publish-ms")
	b.ReportMetric(ms(pct(toConsume, 0.50)), "p50-consume-ms")
	b.ReportMetric(ms(pct(toConsume, 0.99)), "p99-consume-ms")
}

// BenchmarkThroughput measures readings judged per second through Kafka: it loads the
// readings topic first, then starts an assessor and times it until every reading is
// judged (events and state published, offsets committed batch by batch).
//
//	RIVERWATCH_INTEGRATION=1 go test ./services/assessor/internal/assessor -run XXX -bench Throughput -benchtime 1x
func BenchmarkThroughput(b *testing.B) {
	testinfra.Require(b)
	const total = 200000
	for i := 0; i < b.N; i++ {
		cfg := testinfra.Config(b)
		w := stream.NewWriter(stream.WriterConfig{Cluster: stream.Plain(cfg.Kafka.Brokers...), Topic: cfg.Kafka.Topics.Readings}, nil)
		warmUp(b, w)
		gen := &readingGen{n: 100}
		for sent := 0; sent < total; {
			msgs := make([]kafka.Message, 0, 5000)
			for j := 0; j < 5000; j++ {
				m, _ := gen.next(time.Now())
				msgs = append(msgs, m)
			}
			if err := w.Publish(context.Background(), msgs...); err != nil {
				b.Fatal(err)
			}
			sent += len(msgs)
		}
		w.Close()
		b.ResetTimer()
		start := time.Now()
		reg, stop := startInProcess(b, cfg, benchNetwork(b))
		testinfra.Eventually(b, 5*time.Minute, "every reading judged", func() bool {
			return counterSum(reg, "riverwatch_assessor_readings_total") >= total
		})
		elapsed := time.Since(start)
		b.StopTimer()
		stop()
		b.ReportMetric(total/elapsed.Seconds(), "readings/s")
	}
}

func counterSum(reg *prometheus.Registry, name string) float64 {
	mfs, err := reg.Gather()
	if err != nil {
		return 0
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}

func partitionsOf(brokers []string, topic string) ([]int, error) {
	conn, err := kafka.Dial("tcp", brokers[0])
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	ps, err := conn.ReadPartitions(topic)
	if err != nil {
		return nil, err
	}
	var out []int
	for _, p := range ps {
		out = append(out, p.ID)
	}
	return out, nil
}

func pct(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[int(q*float64(len(s)-1))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// warmUp waits until a freshly created topic takes writes: right after its creation the
// broker may still answer "unknown topic", and the writer caches that metadata for a
// while. The message is a reading of a site the network does not know, counted and
// ignored by the assessor.
func warmUp(tb testing.TB, w *stream.Writer) {
	tb.Helper()
	testinfra.Eventually(tb, 30*time.Second, "topic writable", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return w.Publish(ctx, kafka.Message{Key: []byte("warm-up"), Value: []byte(`{"site":"warm-up","parameter":"cod","observed_at":"2025-07-01T00:00:00Z"}`)}) == nil
	})
}
