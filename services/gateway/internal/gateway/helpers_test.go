package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/segmentio/kafka-go"

	"github.com/riverwatch/riverwatch/pkg/auth"
	"github.com/riverwatch/riverwatch/pkg/config"
	"github.com/riverwatch/riverwatch/pkg/hj212"
	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/network"
)

// testSites is a small network: a river section of Changji, an outfall in Urumqi, and a
// site without a station.
const testSites = `
timezone: Asia/Shanghai
jurisdictions:
  - {id: changji, name: 昌吉市}
  - {id: urumqi, name: 乌鲁木齐市}
rivers:
  - {id: santun, name: 三屯河, velocity_mps: 0.8, flow_m3s: 5}
sites:
  - id: STH-S2
    name: 城区下游断面
    kind: section
    river: santun
    km: 41
    jurisdiction: changji
    target_class: III
    station: {mn: "65230100000002", password: "123456"}
  - id: STH-O1
    name: 排污口
    kind: outfall
    river: santun
    km: 35
    jurisdiction: urumqi
    limits: GB18918-1A
    station: {mn: "65230100000101", password: "654321"}
  - id: STH-LAB
    name: 手工断面
    kind: section
    river: santun
    km: 50
    jurisdiction: changji
    target_class: III
`

const (
	sectionMN = "65230100000002"
	outfallMN = "65230100000101"
)

// testNow is the fixed clock of the unit tests: 2024-06-01 10:00 in Shanghai.
var testNow = time.Date(2024, 6, 1, 2, 0, 0, 0, time.UTC)

var testTokens = auth.New([]auth.Principal{
	{Token: "admin", Name: "管理员", Role: auth.RoleAdmin, Jurisdictions: []string{"*"}},
	{Token: "changji", Name: "昌吉", Role: auth.RoleResponder, Jurisdictions: []string{"changji"}},
	{Token: "viewer", Name: "河长办", Role: auth.RoleViewer, Jurisdictions: []string{"*"}},
})

// fakePublisher records what it is asked to publish; it fails while fail is set.
type fakePublisher struct {
	mu      sync.Mutex
	msgs    []kafka.Message
	calls   int
	fail    error
	gate    chan struct{} // when set, Publish waits for it to close
	entered chan struct{}
}

// hold makes the next publishes wait until the returned gate is closed; entered receives
// once a publish is waiting.
func (f *fakePublisher) hold() (gate chan struct{}, entered chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gate, f.entered = make(chan struct{}), make(chan struct{}, 1)
	return f.gate, f.entered
}

func (f *fakePublisher) Publish(ctx context.Context, msgs ...kafka.Message) error {
	f.mu.Lock()
	gate, entered := f.gate, f.entered
	f.mu.Unlock()
	if gate != nil {
		select {
		case entered <- struct{}{}:
		default:
		}
		<-gate
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.fail != nil {
		return f.fail
	}
	f.msgs = append(f.msgs, msgs...)
	return nil
}

func (f *fakePublisher) setFail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = err
}

func (f *fakePublisher) readings(t *testing.T) []message.Reading {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]message.Reading, len(f.msgs))
	for i, m := range f.msgs {
		if err := json.Unmarshal(m.Value, &out[i]); err != nil {
			t.Fatalf("reading message %d: %v", i, err)
		}
		if string(m.Key) != out[i].Site {
			t.Fatalf("reading %s keyed %q, want the site id", out[i].ID, m.Key)
		}
	}
	return out
}

func (f *fakePublisher) rejections(t *testing.T) []message.Rejection {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]message.Rejection, len(f.msgs))
	for i, m := range f.msgs {
		if err := json.Unmarshal(m.Value, &out[i]); err != nil {
			t.Fatalf("rejection message %d: %v", i, err)
		}
	}
	return out
}

func (f *fakePublisher) rawFrames(t *testing.T) []message.RawFrame {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]message.RawFrame, len(f.msgs))
	for i, m := range f.msgs {
		if err := json.Unmarshal(m.Value, &out[i]); err != nil {
			t.Fatalf("raw frame message %d: %v", i, err)
		}
		if string(m.Key) != out[i].Site {
			t.Fatalf("raw frame %s keyed %q, want the site id", out[i].ID, m.Key)
		}
	}
	return out
}

func reasons(rs []message.Rejection) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Reason
	}
	return out
}

var errKafkaDown = errors.New("kafka: connection refused")

type harness struct {
	stop     func() <-chan struct{} // stops RunTCP; the channel closes when it returned
	gw       *Gateway
	readings *fakePublisher
	rejected *fakePublisher
	frames   *fakePublisher // riverwatch.raw-frames
	reg      *prometheus.Registry
	net      *network.Network
	addr     string
}

// newHarness starts a gateway with fake publishers on a free port; cfg tweaks the config.
func newHarness(t testing.TB, tweak func(*config.Gateway)) *harness {
	t.Helper()
	return newHarnessSites(t, testSites, tweak)
}

// newHarnessSites is newHarness with another sites.yaml.
func newHarnessSites(t testing.TB, sites string, tweak func(*config.Gateway)) *harness {
	t.Helper()
	nw, err := network.Parse([]byte(sites))
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default().Gateway
	cfg.HJ212Listen = "127.0.0.1:0"
	cfg.AuthBackoff, cfg.AuthBackoffMax = 10*time.Millisecond, 100*time.Millisecond // keep refusal tests quick
	if tweak != nil {
		tweak(&cfg)
	}
	h := &harness{readings: &fakePublisher{}, rejected: &fakePublisher{}, frames: &fakePublisher{}, reg: prometheus.NewRegistry(), net: nw}
	h.gw, err = NewGateway(Parts{
		Network: nw, Tokens: testTokens, Readings: h.readings, Rejected: h.rejected, RawFrames: h.frames,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Registry: h.reg,
		Clock: func() time.Time { return testNow },
	}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.gw.Listen(); err != nil {
		t.Fatal(err)
	}
	h.addr = h.gw.TCPAddr().String()
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		if err := h.gw.RunTCP(ctx); err != nil {
			t.Errorf("RunTCP: %v", err)
		}
	}()
	h.stop = func() <-chan struct{} { cancel(); return stopped }
	t.Cleanup(func() {
		select {
		case <-h.stop():
		case <-time.After(10 * time.Second):
			t.Errorf("RunTCP did not stop")
		}
	})
	return h
}

// dial connects a station client.
func (h *harness) dial(t *testing.T) *hj212.Client {
	t.Helper()
	c, err := hj212.Dial(context.Background(), h.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

var shanghai, _ = time.LoadLocation("Asia/Shanghai")

// hourPacket builds an hour upload of the section station, asking for an answer.
func hourPacket(t *testing.T, qn string, at time.Time, items ...hj212.Item) hj212.Packet {
	t.Helper()
	cp, err := hj212.DataCP(at, shanghai, hj212.V2017, items)
	if err != nil {
		t.Fatal(err)
	}
	return hj212.Packet{QN: qn, ST: hj212.STSurfaceWater, CN: hj212.CNHour, PW: "123456", MN: sectionMN,
		Flag: hj212.NewFlag(hj212.V2017, true, false), CP: cp}
}

func heartbeat(qn string) hj212.Packet {
	return hj212.Packet{QN: qn, ST: hj212.STSurfaceWater, CN: hj212.CNHeartbeat, PW: "123456", MN: sectionMN,
		Flag: hj212.NewFlag(hj212.V2025, true, false)}
}

// receive reads the next packet from the gateway.
func receive(t *testing.T, c *hj212.Client, d time.Duration) hj212.Packet {
	t.Helper()
	p, err := c.Receive(ctxT(t, d))
	if err != nil {
		t.Fatalf("receive: %v", err)
	}
	return p
}

// expectNoAnswerBefore proves that the gateway sent nothing for what was sent before: it
// sends a heartbeat asking for an answer and checks that the first packet back is the
// heartbeat's 9014.
func expectNoAnswerBefore(t *testing.T, c *hj212.Client, qn string) {
	t.Helper()
	if err := c.Send(ctxT(t, 5*time.Second), heartbeat(qn)); err != nil {
		t.Fatal(err)
	}
	p := receive(t, c, 5*time.Second)
	if p.CN != hj212.CNDataResponse || p.QN != qn {
		t.Fatalf("first answer is %s QN=%s; want only the heartbeat's 9014 (QN=%s)", p.CN, p.QN, qn)
	}
}

func mustEncode(t *testing.T, p hj212.Packet) []byte {
	t.Helper()
	b, err := hj212.Encode(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// metricSettles returns the value of a counter or gauge once it equals want, or after a
// second. Answers are counted once the session's write returned, which may be after the
// station has read them.
func metricSettles(m prometheus.Metric, want float64) float64 {
	deadline := time.Now().Add(time.Second)
	for {
		if got := metricValue(m); got == want || time.Now().After(deadline) {
			return got
		}
		time.Sleep(time.Millisecond)
	}
}

// metricValue returns the value of a counter or gauge.
func metricValue(m prometheus.Metric) float64 {
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		panic(err)
	}
	switch {
	case d.Counter != nil:
		return d.Counter.GetValue()
	case d.Gauge != nil:
		return d.Gauge.GetValue()
	}
	panic("not a counter or gauge")
}

// httptestServer serves the gateway's HTTP API on a real listener and returns its URL.
func httptestServer(t *testing.T, gw *Gateway) string {
	t.Helper()
	srv := httptest.NewServer(gw.Handler())
	t.Cleanup(srv.Close)
	return srv.URL
}

// postURL posts a JSON body with a bearer token and returns the status and body.
func postURL(t *testing.T, url, token, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
