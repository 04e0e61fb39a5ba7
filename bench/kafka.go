package bench

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/riverwatch/riverwatch/pkg/stream"
)

// Figure keys of the raw Kafka step, used as baselines by later steps.
const (
	KeyKafkaProduce        = "kafka.produce.rate"
	KeyKafkaConsume        = "kafka.consume.rate"
	KeyKafkaProduceConsume = "kafka.produce_consume.rate"
	KeyKafkaLatencyP50     = "kafka.e2e_latency.p50"
	KeyKafkaLatencyP99     = "kafka.e2e_latency.p99"
)

// ConsumerResult is the summary of Kafka's ConsumerPerformance.
type ConsumerResult struct {
	MB, Messages                  float64
	RebalanceMs, FetchMs          float64
	FetchMBPerSec, FetchMsgPerSec float64
}

// ParseConsumerSummary parses ConsumerPerformance's summary line (the one after the
// "start.time, end.time, ..." header): start, end, MB, MB/s, messages, messages/s,
// rebalance ms, fetch ms, fetch MB/s, fetch messages/s.
func ParseConsumerSummary(line string) (ConsumerResult, bool) {
	parts := strings.Split(line, ",")
	if len(parts) != 10 {
		return ConsumerResult{}, false
	}
	var v [10]float64
	for i := 2; i < 10; i++ {
		x, err := strconv.ParseFloat(strings.TrimSpace(parts[i]), 64)
		if err != nil {
			return ConsumerResult{}, false
		}
		v[i] = x
	}
	return ConsumerResult{MB: v[2], Messages: v[4], RebalanceMs: v[6], FetchMs: v[7], FetchMBPerSec: v[8], FetchMsgPerSec: v[9]}, true
}

// LatencyResult is what Kafka's EndToEndLatency prints.
type LatencyResult struct{ AvgMs, P50Ms, P99Ms, P999Ms float64 }

var (
	e2eAvg = regexp.MustCompile(`Avg latency: ([\d.]+) ms`)
	e2ePct = regexp.MustCompile(`Percentiles: 50th = ([\d.]+), 99th = ([\d.]+), 99.9th = ([\d.]+)`)
)

// ParseEndToEndLatency reads EndToEndLatency's output lines.
func ParseEndToEndLatency(lines []string) (LatencyResult, bool) {
	var r LatencyResult
	var gotAvg, gotPct bool
	for _, l := range lines {
		if m := e2eAvg.FindStringSubmatch(l); m != nil {
			r.AvgMs, _ = strconv.ParseFloat(m[1], 64)
			gotAvg = true
		}
		if m := e2ePct.FindStringSubmatch(l); m != nil {
			r.P50Ms, _ = strconv.ParseFloat(m[1], 64)
			r.P99Ms, _ = strconv.ParseFloat(m[2], 64)
			r.P999Ms, _ = strconv.ParseFloat(m[3], 64)
			gotPct = true
		}
	}
	return r, gotAvg && gotPct
}

// producerArgs are ProducerPerformance's arguments for n records of the payload: acks=all
// and lz4 as riverwatch's writers, everything else Kafka's defaults (linger.ms 5 in 4.x).
func (e *Env) producerArgs(topic string, n int, p *Payload) []string {
	return []string{
		"--topic", topic, "--num-records", strconv.Itoa(n), "--throughput", "-1",
		"--payload-file", p.File,
		"--producer-props", "bootstrap.servers=" + strings.Join(e.Brokers, ","), "acks=all", "compression.type=lz4",
	}
}

// RawKafka measures the broker with Kafka's own tools: produce alone, consume alone,
// produce and consume together (the baseline of the pipeline's throughput) and the
// latency of a lone record (the baseline of the pipeline's latencies). Producers run for a
// fixed time (Settings.KafkaTime) rather than a fixed count, so that a slow, busy machine
// does not stretch the run.
func RawKafka(ctx context.Context, e *Env, s *Step) error {
	p, err := e.Payload()
	if err != nil {
		return err
	}
	d := e.Settings.KafkaTime
	tp, tpc, tl := e.Topic("raw-produce"), e.Topic("raw-pc"), e.Topic("raw-latency")
	if err := stream.EnsureTopics(ctx, stream.Plain(e.Brokers...),
		stream.TopicSpec{Name: tp, Partitions: e.Settings.Partitions},
		stream.TopicSpec{Name: tpc, Partitions: e.Settings.Partitions},
		stream.TopicSpec{Name: tl, Partitions: 1}); err != nil {
		return err
	}
	s.Note("raw Kafka records: JSON readings of %d B on average (%d distinct, the payload file), acks=all, lz4, %d partitions, other settings Kafka's defaults; %s per run, the first 5 s window dropped",
		p.AvgBytes, p.Records, e.Settings.Partitions, d)

	// 1. Produce alone.
	e.Log.Info("raw kafka: produce", "for", d)
	prod, err := e.produceFor(ctx, tp, d, p, nil)
	if err != nil {
		return err
	}
	s.Add(KeyKafkaProduce, "produce", prod.Rate, "rec/s")
	s.Add("kafka.produce.mb", "produce", prod.MBPerSec, "MB/s")
	s.Add("kafka.produce.latency_avg", "produce latency avg (saturated)", prod.AvgMs, "ms")

	// 2. Consume what was just produced.
	e.Log.Info("raw kafka: consume", "records", prod.Acked)
	cons, err := e.runConsumer(ctx, tp, int(prod.Acked), e.Prefix+"-raw-consume")
	if err != nil {
		return err
	}
	s.Add(KeyKafkaConsume, "consume", cons.FetchMsgPerSec, "rec/s")

	// 3. Both at once, as the pipeline runs them.
	e.Log.Info("raw kafka: produce and consume together", "for", d)
	pc, err := e.produceConsume(ctx, tpc, d, p)
	if err != nil {
		return err
	}
	s.Add(KeyKafkaProduceConsume, "produce→consume", pc, "rec/s")

	// 4. One record at a time: the floor of any latency through Kafka on this machine.
	e.Log.Info("raw kafka: end-to-end latency of single records")
	var mu sync.Mutex
	var lines []string
	c, err := e.KafkaTool(ctx, func(l Line) {
		mu.Lock()
		lines = append(lines, l.Text)
		mu.Unlock()
	}, "org.apache.kafka.tools.EndToEndLatency", strings.Join(e.Brokers, ","), tl, "1000", "all", strconv.Itoa(p.AvgBytes))
	if err != nil {
		return err
	}
	if err := c.Wait(); err != nil {
		return err
	}
	lat, ok := ParseEndToEndLatency(lines)
	if !ok {
		return fmt.Errorf("EndToEndLatency printed no result:\n%s", strings.Join(lines, "\n"))
	}
	s.Add(KeyKafkaLatencyP50, "one record produce→consume p50", lat.P50Ms, "ms")
	s.Add(KeyKafkaLatencyP99, "one record produce→consume p99", lat.P99Ms, "ms")
	s.Add("kafka.e2e_latency.avg", "one record produce→consume avg", lat.AvgMs, "ms")
	return nil
}

// ProducerWindow is one of the progress lines ProducerPerformance prints every 5 s.
type ProducerWindow struct {
	Records       int64
	RecordsPerSec float64
	MBPerSec      float64
	AvgMs, MaxMs  float64
}

var producerWindow = regexp.MustCompile(`^(\d+) records sent, ([\d.]+) records/sec \(([\d.]+) MB/sec\), ([\d.]+) ms avg latency, ([\d.]+) ms max latency\.?$`)

// ParseProducerWindow parses a progress line of ProducerPerformance.
func ParseProducerWindow(line string) (ProducerWindow, bool) {
	m := producerWindow.FindStringSubmatch(strings.TrimSpace(line))
	if m == nil {
		return ProducerWindow{}, false
	}
	f := func(i int) float64 { v, _ := strconv.ParseFloat(m[i], 64); return v }
	n, _ := strconv.ParseInt(m[1], 10, 64)
	return ProducerWindow{Records: n, RecordsPerSec: f(2), MBPerSec: f(3), AvgMs: f(4), MaxMs: f(5)}, true
}

// Produced summarises a producer run of fixed duration from its windows.
type Produced struct {
	Acked    int64   // records acknowledged in the windows printed
	Rate     float64 // records/s over the windows after the first
	MBPerSec float64
	AvgMs    float64
	Windows  int
	Start    time.Time // when the first window began (first line − 5 s)
	Stop     time.Time // when the producer was stopped
}

// summarize turns windows into a Produced; the first window (JVM warm-up, connection
// set-up) is left out of the rate when there are others.
func summarize(ws []ProducerWindow) Produced {
	var p Produced
	for _, w := range ws {
		p.Acked += w.Records
	}
	use := ws
	if len(ws) > 1 {
		use = ws[1:]
	}
	var recs, secs, mb, lat float64
	for _, w := range use {
		if w.RecordsPerSec <= 0 {
			continue
		}
		recs += float64(w.Records)
		secs += float64(w.Records) / w.RecordsPerSec
		mb += w.MBPerSec * float64(w.Records) / w.RecordsPerSec
		lat += w.AvgMs * float64(w.Records)
	}
	if secs > 0 {
		p.Rate, p.MBPerSec = recs/secs, mb/secs
	}
	if recs > 0 {
		p.AvgMs = lat / recs
	}
	p.Windows = len(ws)
	return p
}

// produceFor runs ProducerPerformance with an unbounded record count and stops it after d
// (plus the JVM's start). started, if not nil, receives the time of its first window.
func (e *Env) produceFor(ctx context.Context, topic string, d time.Duration, p *Payload, first chan<- time.Time) (Produced, error) {
	var mu sync.Mutex
	var ws []ProducerWindow
	var firstAt time.Time
	c, err := e.KafkaTool(ctx, func(l Line) {
		if w, ok := ParseProducerWindow(l.Text); ok {
			mu.Lock()
			ws = append(ws, w)
			if len(ws) == 1 {
				firstAt = l.At
				if first != nil {
					first <- l.At
				}
			}
			mu.Unlock()
		}
	}, "org.apache.kafka.tools.ProducerPerformance", e.producerArgs(topic, 1_000_000_000, p)...)
	if err != nil {
		return Produced{}, err
	}
	// Wait for the first window (the JVM is up and sending), then d more.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		mu.Lock()
		n := len(ws)
		mu.Unlock()
		if n > 0 || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	select {
	case <-time.After(d - 5*time.Second):
	case <-ctx.Done():
	}
	c.Stop()
	stopAt := time.Now()
	mu.Lock()
	defer mu.Unlock()
	if len(ws) == 0 {
		return Produced{}, fmt.Errorf("ProducerPerformance printed no progress: %v", c.Wait())
	}
	out := summarize(ws)
	out.Start, out.Stop = firstAt.Add(-5*time.Second), stopAt
	return out, nil
}

// ConsumerInterval is one detailed progress line of ConsumerPerformance.
type ConsumerInterval struct {
	Cumulative float64 // messages consumed so far
	At         time.Time
}

// ParseConsumerInterval parses a --show-detailed-stats line: time, thread, MB, MB/s,
// messages so far, messages/s, rebalance ms, fetch ms, fetch MB/s, fetch messages/s.
func ParseConsumerInterval(line string) (float64, bool) {
	parts := strings.Split(line, ",")
	if len(parts) != 10 {
		return 0, false
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(parts[4]), 64)
	if err != nil {
		return 0, false
	}
	return v, true
}

// produceConsume runs a consumer and a producer together for d and returns the steady
// rate at which the consumer received records while the producer was sending: from 2 s
// after the first record arrived until the producer was stopped.
func (e *Env) produceConsume(ctx context.Context, topic string, d time.Duration, p *Payload) (float64, error) {
	var mu sync.Mutex
	var iv []ConsumerInterval
	cons, err := e.KafkaTool(ctx, func(l Line) {
		if n, ok := ParseConsumerInterval(l.Text); ok {
			mu.Lock()
			iv = append(iv, ConsumerInterval{Cumulative: n, At: l.At})
			mu.Unlock()
		}
	}, "org.apache.kafka.tools.ConsumerPerformance", "--bootstrap-server", strings.Join(e.Brokers, ","),
		"--topic", topic, "--messages", "1000000000000", "--group", e.Prefix+"-raw-pc",
		"--show-detailed-stats", "--reporting-interval", "1000", "--timeout", "600000")
	if err != nil {
		return 0, err
	}
	defer cons.Stop()
	// Let the consumer's JVM start and join its group; it reads from the earliest offset,
	// so nothing is missed if it is slower than that.
	select {
	case <-time.After(4 * time.Second):
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	prod, err := e.produceFor(ctx, topic, d, p, nil)
	if err != nil {
		return 0, err
	}
	// Let the consumer print the interval that covers the producer's stop.
	select {
	case <-time.After(1500 * time.Millisecond):
	case <-ctx.Done():
	}
	cons.Stop()
	mu.Lock()
	defer mu.Unlock()
	return steadyRate(iv, prod.Stop, 2*time.Second)
}

// steadyRate is the rate between the interval skip after the first one with records and
// the last interval at or before stop.
func steadyRate(iv []ConsumerInterval, stop time.Time, skip time.Duration) (float64, error) {
	first := -1
	for i, x := range iv {
		if x.Cumulative > 0 {
			first = i
			break
		}
	}
	if first < 0 {
		return 0, fmt.Errorf("produce→consume: the consumer received nothing")
	}
	from := first
	for from < len(iv)-1 && iv[from].At.Sub(iv[first].At) < skip {
		from++
	}
	to := from
	for i := from; i < len(iv); i++ {
		if !iv[i].At.After(stop) {
			to = i
		}
	}
	if to <= from {
		return 0, fmt.Errorf("produce→consume: too few consumer intervals (%d) to measure a rate", len(iv))
	}
	return (iv[to].Cumulative - iv[from].Cumulative) / iv[to].At.Sub(iv[from].At).Seconds(), nil
}

// runConsumer runs ConsumerPerformance for n records in a new group and returns its
// summary.
func (e *Env) runConsumer(ctx context.Context, topic string, n int, group string) (ConsumerResult, error) {
	var res ConsumerResult
	var got bool
	var mu sync.Mutex
	c, err := e.KafkaTool(ctx, func(l Line) {
		if r, ok := ParseConsumerSummary(l.Text); ok {
			mu.Lock()
			res, got = r, true
			mu.Unlock()
		}
	}, "org.apache.kafka.tools.ConsumerPerformance", "--bootstrap-server", strings.Join(e.Brokers, ","),
		"--topic", topic, "--messages", strconv.Itoa(n), "--group", group, "--timeout", "60000")
	if err != nil {
		return res, err
	}
	if err := c.Wait(); err != nil {
		return res, err
	}
	mu.Lock()
	defer mu.Unlock()
	if !got {
		return res, fmt.Errorf("ConsumerPerformance printed no summary")
	}
	return res, nil
}
