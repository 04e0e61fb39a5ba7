package gateway

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/riverwatch/riverwatch/pkg/config"
	"github.com/riverwatch/riverwatch/pkg/hj212"
	"github.com/riverwatch/riverwatch/pkg/network"
	"github.com/riverwatch/riverwatch/pkg/stream"
	"github.com/riverwatch/riverwatch/pkg/testinfra"
)

// loadStations is how many station connections the load check opens.
const loadStations = 2000

// latencyRecorder wraps a Publisher and keeps the duration of every call.
type latencyRecorder struct {
	Publisher
	mu    sync.Mutex
	durs  []time.Duration
	msgs  int
	calls int
}

func (l *latencyRecorder) Publish(ctx context.Context, msgs ...kafka.Message) error {
	start := time.Now()
	err := l.Publisher.Publish(ctx, msgs...)
	d := time.Since(start)
	l.mu.Lock()
	l.durs = append(l.durs, d)
	l.msgs += len(msgs)
	l.calls++
	l.mu.Unlock()
	return err
}

func (l *latencyRecorder) reset() {
	l.mu.Lock()
	l.durs, l.msgs, l.calls = l.durs[:0], 0, 0
	l.mu.Unlock()
}

func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(p*float64(len(s))))]
}

// loadNetwork is a network of n outfalls, each with a station LOAD<n>.
func loadNetwork(tb testing.TB, n int) *network.Network {
	tb.Helper()
	var b strings.Builder
	b.WriteString("timezone: Asia/Shanghai\njurisdictions: [{id: changji, name: 昌吉市}]\n" +
		"rivers: [{id: santun, name: 三屯河, velocity_mps: 0.8, flow_m3s: 5}]\nsites:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - {id: LOAD-%d, name: load %d, kind: outfall, river: santun, km: %d, jurisdiction: changji, limits: GB18918-1A, station: {mn: \"LOAD%010d\", password: \"123456\"}}\n",
			i, i, i%100, i)
	}
	nw, err := network.Parse([]byte(b.String()))
	if err != nil {
		tb.Fatal(err)
	}
	return nw
}

// BenchmarkGatewayLoad is the load check: 2,000 concurrent station connections send minute
// data (CN 2051, 8 items per frame, each frame asking for an answer) through the gateway to
// the real Kafka broker; each station sends its next frame once the previous one is
// answered, as data loggers do. One op is one round: every station sends one frame and gets
// its 9014. It reports readings per second end to end (station → Kafka acknowledgement →
// answer), the p50/p99 of the gateway's publish calls (riverwatch_gateway_publish_duration_seconds)
// and the p99 a station waits for its answer. Not part of the default test run (it is a
// benchmark, and needs RIVERWATCH_INTEGRATION=1):
//
//	RIVERWATCH_INTEGRATION=1 go test ./services/gateway/internal/gateway -run '^$' -bench BenchmarkGatewayLoad -benchtime 20x -timeout 30m
func BenchmarkGatewayLoad(b *testing.B) {
	cfg := itConfig(b)
	// testinfra.Config is built from the defaults; let the environment vary the two knobs
	// that matter here, as it would for the service.
	for env, dst := range map[string]*int{"RIVERWATCH_GATEWAY_KAFKA_WRITERS": &cfg.Gateway.KafkaWriters, "RIVERWATCH_KAFKA_PARTITIONS": &cfg.Kafka.Partitions} {
		if v, err := strconv.Atoi(os.Getenv(env)); err == nil && v > 0 {
			*dst = v
		}
	}
	// Topics of their own with the production partition count (kafka.partitions, 6): the
	// test topics have 3, and kafka-go writes one batch at a time per partition.
	cfg.Kafka.Topics.Readings += ".load"
	cfg.Kafka.Topics.Rejected += ".load"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	err := stream.EnsureTopics(ctx, stream.Plain(cfg.Kafka.Brokers...),
		stream.TopicSpec{Name: cfg.Kafka.Topics.Readings, Partitions: cfg.Kafka.Partitions},
		stream.TopicSpec{Name: cfg.Kafka.Topics.Rejected, Partitions: cfg.Kafka.Partitions})
	cancel()
	if err != nil {
		b.Fatal(err)
	}
	testinfra.DeleteTopicsAtEnd(b, cfg.Kafka.Brokers,
		stream.TopicSpec{Name: cfg.Kafka.Topics.Readings}, stream.TopicSpec{Name: cfg.Kafka.Topics.Rejected})
	waitWritable(b, cfg)
	nw := loadNetwork(b, loadStations)
	var writers stream.Sharded // as services/gateway builds them (gateway.kafka_writers)
	for range max(cfg.Gateway.KafkaWriters, 1) {
		writers = append(writers, newWriter(b, cfg.Kafka.Brokers, cfg.Kafka.Topics.Readings))
	}
	rec := &latencyRecorder{Publisher: writers}
	rejected := newWriter(b, cfg.Kafka.Brokers, cfg.Kafka.Topics.Rejected)
	// Every load station connects from this host.
	gw := startGatewayOn(b, cfg, nw, rec, rejected, func(g *config.Gateway) { g.MaxConnectionsPerAddress = loadStations })
	addr := gw.TCPAddr().String()

	clients := make([]*hj212.Client, loadStations)
	for i := range clients {
		c, err := hj212.Dial(context.Background(), addr)
		if err != nil {
			b.Fatalf("station %d: %v", i, err)
		}
		clients[i] = c
	}
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	codes := []string{"w01018", "w21003", "w21011", "w21001", "w01001", "w00000", "w01010", "w01009"}
	base := time.Now().Add(-time.Duration(b.N+10) * time.Minute).Truncate(time.Minute)
	frame := func(station, round int) hj212.Packet {
		at := base.Add(time.Duration(round) * time.Minute)
		items := make([]hj212.Item, len(codes))
		for k, code := range codes {
			v := float64((station*7+round*3+k)%50)/10 + 6.5 // 6.5–11.4: plausible for every code here
			items[k] = hj212.Period(code, v-0.5, v, v+0.5, "N")
		}
		cp, err := hj212.DataCP(at, nw.Location, hj212.V2017, items)
		if err != nil {
			b.Fatal(err)
		}
		return hj212.Packet{QN: hj212.NewQN(at, nw.Location), ST: hj212.STWaterPollution,
			CN: hj212.CNMinute, PW: "123456", MN: fmt.Sprintf("LOAD%010d", station), Flag: hj212.NewFlag(hj212.V2017, true, false), CP: cp}
	}
	// run makes every station send rounds frames, from round from on.
	run := func(rounds, from int) (acks []time.Duration, errs int) {
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i, c := range clients {
			wg.Go(func() {
				var mine []time.Duration
				bad := 0
				for r := from; r < from+rounds; r++ {
					ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
					start := time.Now()
					if err := c.Upload(ctx, frame(i, r)); err != nil {
						bad++
					}
					mine = append(mine, time.Since(start))
					cancel()
				}
				mu.Lock()
				acks = append(acks, mine...)
				errs += bad
				mu.Unlock()
			})
		}
		wg.Wait()
		return acks, errs
	}
	// Warm up: one frame per station, so connections and the writer's batches are set up.
	if _, errs := run(1, 0); errs > 0 {
		b.Fatalf("warm-up: %d frames unanswered", errs)
	}
	rec.reset()
	b.ResetTimer()
	start := time.Now()
	acks, errs := run(b.N, 1)
	elapsed := time.Since(start)
	b.StopTimer()
	if errs > 0 {
		b.Fatalf("%d frames unanswered", errs)
	}
	rec.mu.Lock()
	durs, msgs, calls := slices.Clone(rec.durs), rec.msgs, rec.calls
	rec.mu.Unlock()
	if want := loadStations * b.N * len(codes); msgs != want {
		b.Fatalf("%d readings published, want %d", msgs, want)
	}
	b.ReportMetric(float64(msgs)/elapsed.Seconds(), "readings/s")
	b.ReportMetric(float64(percentile(durs, 0.50).Microseconds())/1000, "p50_publish_ms")
	b.ReportMetric(float64(percentile(durs, 0.99).Microseconds())/1000, "p99_publish_ms")
	b.ReportMetric(float64(percentile(acks, 0.99).Microseconds())/1000, "p99_answer_ms")
	b.ReportMetric(float64(msgs)/float64(calls), "readings/publish")
	b.Logf("%d partitions, %d writers", cfg.Kafka.Partitions, len(writers))
	b.Logf("%d stations × %d rounds: %d readings in %v over %d publish calls", loadStations, b.N, msgs, elapsed.Round(time.Millisecond), calls)
}
