package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"github.com/riverwatch/riverwatch/pkg/auth"
	"github.com/riverwatch/riverwatch/pkg/config"
	"github.com/riverwatch/riverwatch/pkg/hj212"
	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/network"
	"github.com/riverwatch/riverwatch/pkg/stream"
	"github.com/riverwatch/riverwatch/pkg/testinfra"
)

// switchPublisher publishes through whichever Publisher is current: the integration test
// points the gateway at a broker address that refuses connections, then at the real one.
type switchPublisher struct{ cur atomic.Pointer[stream.Writer] }

func (s *switchPublisher) Publish(ctx context.Context, msgs ...kafka.Message) error {
	return s.cur.Load().Publish(ctx, msgs...)
}

// startGateway runs a gateway on the real network file and the given publishers.
func startGateway(t testing.TB, cfg *config.Config, readings, rejected Publisher, tweak func(*config.Gateway)) *Gateway {
	t.Helper()
	nw, err := network.Load(cfg.SitesFile)
	if err != nil {
		t.Fatal(err)
	}
	return startGatewayOn(t, cfg, nw, readings, rejected, tweak)
}

// startGatewayOn runs a gateway on a given network.
func startGatewayOn(t testing.TB, cfg *config.Config, nw *network.Network, readings, rejected Publisher, tweak func(*config.Gateway)) *Gateway {
	t.Helper()
	tokens, err := auth.Load(cfg.Auth.TokensFile)
	if err != nil {
		t.Fatal(err)
	}
	gc := cfg.Gateway
	gc.HJ212Listen = "127.0.0.1:0"
	if tweak != nil {
		tweak(&gc)
	}
	gw, err := NewGateway(Parts{Network: nw, Tokens: tokens, Readings: readings, Rejected: rejected,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Registry: prometheus.NewRegistry()}, gc)
	if err != nil {
		t.Fatal(err)
	}
	if err := gw.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- gw.RunTCP(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("RunTCP: %v", err)
		}
	})
	return gw
}

// itConfig returns the test's configuration once its topics can be written. A topic just
// created is unknown to kafka-go writers until their transport's metadata cache (kafka-go's
// DefaultTransport, shared by every stream.Writer of the process, refreshed every 6 s)
// learns it; before that a publish fails with "unknown topic or partition".
func itConfig(t testing.TB) *config.Config {
	t.Helper()
	cfg := testinfra.Config(t)
	waitWritable(t, cfg)
	return cfg
}

// waitWritable waits until the writers' transport knows the readings, rejected and station
// commands topics.
func waitWritable(t testing.TB, cfg *config.Config) {
	t.Helper()
	client := &kafka.Client{Addr: kafka.TCP(cfg.Kafka.Brokers...)} // the writers' transport
	for _, topic := range []string{cfg.Kafka.Topics.Readings, cfg.Kafka.Topics.Rejected, cfg.Kafka.Topics.StationCommands} {
		testinfra.Eventually(t, 30*time.Second, "topic "+topic+" known to the writers", func() bool {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			md, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
			if err != nil || len(md.Topics) != 1 || md.Topics[0].Error != nil || len(md.Topics[0].Partitions) == 0 {
				return false
			}
			for _, p := range md.Topics[0].Partitions {
				if p.Error != nil || p.Leader.Host == "" {
					return false
				}
			}
			return true
		})
	}
}

func newWriter(t testing.TB, brokers []string, topic string) *stream.Writer {
	w := stream.NewWriter(stream.WriterConfig{Cluster: stream.Plain(brokers...), Topic: topic, BatchTimeout: 2 * time.Millisecond}, nil)
	t.Cleanup(func() { w.Close() })
	return w
}

// readTopic returns every message of a topic (all partitions), waiting until at least want
// are there or the timeout passes.
func readTopic(t testing.TB, brokers []string, topic string, want int, timeout time.Duration) []kafka.Message {
	t.Helper()
	conn, err := kafka.Dial("tcp", brokers[0])
	if err != nil {
		t.Fatal(err)
	}
	parts, err := conn.ReadPartitions(topic)
	conn.Close()
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(timeout)
	for {
		var all []kafka.Message
		for _, p := range parts {
			r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Topic: topic, Partition: p.ID, MaxWait: 100 * time.Millisecond})
			for {
				ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
				m, err := r.ReadMessage(ctx)
				cancel()
				if err != nil {
					break
				}
				all = append(all, m)
			}
			r.Close()
		}
		if len(all) >= want || time.Now().After(deadline) {
			return all
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// The station of site TTH-S2 in configs/sites.yaml.
const (
	itMN = "65230100000002"
	itPW = "123456"
)

func stationHour(t testing.TB, qn string, at time.Time, items ...hj212.Item) hj212.Packet {
	t.Helper()
	loc, _ := time.LoadLocation("Asia/Shanghai")
	cp, err := hj212.DataCP(at, loc, hj212.V2017, items)
	if err != nil {
		t.Fatal(err)
	}
	return hj212.Packet{QN: qn, ST: hj212.STSurfaceWater, CN: hj212.CNHour, PW: itPW, MN: itMN, Flag: hj212.NewFlag(hj212.V2017, true, false), CP: cp}
}

// TestIntegrationStationFramesReachKafkaAndNothingIsLostOrDoubledAcrossAnOutage runs a
// station against the gateway and the real broker: its frames are answered with 9014 and
// the readings are on the readings topic; while the gateway's Kafka is unreachable the
// station gets no answer; once Kafka is back and the station resends, every reading is on
// the topic exactly once.
func TestIntegrationStationFramesReachKafkaAndNothingIsLostOrDoubledAcrossAnOutage(t *testing.T) {
	cfg := itConfig(t)
	brokers := cfg.Kafka.Brokers
	real := newWriter(t, brokers, cfg.Kafka.Topics.Readings)
	// Nothing listens at a freed port: the writer's connections are refused, as when the
	// broker is stopped (the shared broker itself cannot be stopped: other tests use it).
	down := newWriter(t, []string{testinfra.FreeAddr(t)}, cfg.Kafka.Topics.Readings)
	var readings switchPublisher
	readings.cur.Store(real)
	rejected := newWriter(t, brokers, cfg.Kafka.Topics.Rejected)
	gw := startGateway(t, cfg, &readings, rejected, func(g *config.Gateway) { g.PublishTimeout = 3 * time.Second })

	c, err := hj212.Dial(context.Background(), gw.TCPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	base := time.Now().Truncate(time.Hour).Add(-3 * time.Hour)
	items := func(v float64) []hj212.Item {
		return []hj212.Item{hj212.Period("w21003", v, v+0.1, v+0.2, "N"), hj212.Period("w01009", 7, 7.5, 8, "N"), hj212.Period("w20111", 0.01, 0.02, 0.03, "N")}
	}
	frames := []hj212.Packet{
		stationHour(t, "20240601100000001", base, items(0.5)...),
		stationHour(t, "20240601100000002", base.Add(time.Hour), items(0.6)...),
		stationHour(t, "20240601100000003", base.Add(2*time.Hour), items(0.7)...),
	}
	wantIDs := map[string]bool{}
	for i := range frames {
		for _, p := range []string{"nh3n", "do", "hg"} {
			wantIDs[message.ReadingID("TTH-S2", p, message.IntervalHour, base.Add(time.Duration(i)*time.Hour))] = true
		}
	}

	// Kafka up: the first frame is answered.
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := c.Upload(ctx, frames[0]); err != nil {
		t.Fatalf("frame 1 with Kafka up: %v", err)
	}

	// Kafka unreachable: frames 2 and 3 get no answer.
	readings.cur.Store(down)
	for _, f := range frames[1:] {
		ctx, cancel := context.WithTimeout(context.Background(), 6*time.Second)
		err := c.Upload(ctx, f)
		cancel()
		if !errors.Is(err, hj212.ErrNoAck) {
			t.Fatalf("frame QN=%s answered while Kafka was unreachable (err %v)", f.QN, err)
		}
	}

	// Kafka back: the station resends everything it has no answer for — and, to be sure,
	// frame 1 again, whose answer it did get.
	readings.cur.Store(real)
	for _, f := range append(frames[1:], frames[0]) {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		err := c.Upload(ctx, f)
		cancel()
		if err != nil {
			t.Fatalf("resend QN=%s with Kafka back: %v", f.QN, err)
		}
	}

	msgs := readTopic(t, brokers, cfg.Kafka.Topics.Readings, len(wantIDs), 20*time.Second)
	seen := map[string]int{}
	for _, m := range msgs {
		var r message.Reading
		if err := json.Unmarshal(m.Value, &r); err != nil {
			t.Fatal(err)
		}
		if string(m.Key) != r.Site {
			t.Errorf("message key %q, reading site %q", m.Key, r.Site)
		}
		seen[r.ID]++
	}
	for id := range wantIDs {
		if seen[id] != 1 {
			t.Errorf("reading %s is on the topic %d times, want exactly once", id, seen[id])
		}
	}
	if len(msgs) != len(wantIDs) {
		t.Errorf("%d messages on the readings topic, want %d", len(msgs), len(wantIDs))
	}
	// The resend of frame 1 was recorded as a duplicate.
	rej := readTopic(t, brokers, cfg.Kafka.Topics.Rejected, 1, 10*time.Second)
	dups := 0
	for _, m := range rej {
		var r message.Rejection
		if err := json.Unmarshal(m.Value, &r); err != nil {
			t.Fatal(err)
		}
		if r.Reason == ReasonDuplicate && r.Station == itMN {
			dups++
		}
	}
	if dups != 1 {
		t.Errorf("%d duplicate rejections, want 1", dups)
	}
}

// TestIntegrationHTTPUploadReachesKafka posts a JSON upload through the gateway to the real
// broker.
func TestIntegrationHTTPUploadReachesKafka(t *testing.T) {
	cfg := itConfig(t)
	gw := startGateway(t, cfg, newWriter(t, cfg.Kafka.Brokers, cfg.Kafka.Topics.Readings),
		newWriter(t, cfg.Kafka.Brokers, cfg.Kafka.Topics.Rejected), nil)
	srv := httptestServer(t, gw)
	at := time.Now().UTC().Truncate(time.Minute).Add(-time.Hour).Format(time.RFC3339)
	code, body := postURL(t, srv+"/api/v1/readings", "dev-gateway-lab",
		`[{"site":"STH-S2","parameter":"cd","value":4,"unit":"µg/L","observed_at":"`+at+`"},`+
			`{"site":"STH-S2","parameter":"cd","value":-4,"unit":"µg/L","observed_at":"`+at+`"}]`)
	if code != 200 {
		t.Fatalf("status %d: %s", code, body)
	}
	msgs := readTopic(t, cfg.Kafka.Brokers, cfg.Kafka.Topics.Readings, 1, 15*time.Second)
	if len(msgs) != 1 {
		t.Fatalf("%d readings on the topic", len(msgs))
	}
	var r message.Reading
	json.Unmarshal(msgs[0].Value, &r)
	if r.Parameter != "cd" || r.Value != 0.004 || r.Source != message.SourceHTTP {
		t.Fatalf("reading %+v", r)
	}
	rej := readTopic(t, cfg.Kafka.Brokers, cfg.Kafka.Topics.Rejected, 1, 15*time.Second)
	if len(rej) != 1 {
		t.Fatalf("%d rejections on the topic", len(rej))
	}
}

// TestIntegrationNonDetectsReachKafkaAsTheirLimitWithBelowDL sends a station's "0.0003L"
// phenol and a lab's CSV "0.01L" petroleum through the gateway to the real broker: both are
// on the readings topic with the limit as value and "below_dl":true; the detected value
// beside them has no below_dl key.
func TestIntegrationNonDetectsReachKafkaAsTheirLimitWithBelowDL(t *testing.T) {
	cfg := itConfig(t)
	gw := startGateway(t, cfg, newWriter(t, cfg.Kafka.Brokers, cfg.Kafka.Topics.Readings),
		newWriter(t, cfg.Kafka.Brokers, cfg.Kafka.Topics.Rejected), nil)
	c, err := hj212.Dial(context.Background(), gw.TCPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	at := time.Now().Truncate(time.Hour).Add(-2 * time.Hour)
	phenol := hj212.Item{Code: "w23002", Avg: hj212.Value(0.0003), Flag: "N", BelowDL: true}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := c.Upload(ctx, stationHour(t, "20240601100000011", at, phenol, hj212.Period("w21003", 0.3, 0.4, 0.5, "N"))); err != nil {
		t.Fatalf("upload: %v", err)
	}
	srv := httptestServer(t, gw)
	code, body := postURL(t, srv+"/api/v1/readings.csv", "dev-gateway-lab",
		"site,parameter,value,unit,observed_at\nSTH-S2,petroleum,0.01L,mg/L,"+at.UTC().Format(time.RFC3339)+"\n")
	if code != 200 || !strings.Contains(body, `"accepted":1`) {
		t.Fatalf("csv upload: %d %s", code, body)
	}
	msgs := readTopic(t, cfg.Kafka.Brokers, cfg.Kafka.Topics.Readings, 3, 15*time.Second)
	got := map[string]string{}
	for _, m := range msgs {
		var r message.Reading
		if err := json.Unmarshal(m.Value, &r); err != nil {
			t.Fatal(err)
		}
		got[r.Parameter] = strconv.FormatFloat(r.Value, 'f', -1, 64) + " " + strconv.FormatBool(r.BelowDL) + " " +
			strconv.FormatBool(strings.Contains(string(m.Value), `"below_dl"`))
	}
	want := map[string]string{"phenol": "0.0003 true true", "petroleum": "0.01 true true", "nh3n": "0.4 false false"}
	for p, w := range want {
		if got[p] != w {
			t.Errorf("%s on the topic: %q (value below_dl key), want %q", p, got[p], w)
		}
	}
}
