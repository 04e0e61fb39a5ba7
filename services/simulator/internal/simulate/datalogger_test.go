package simulate

import (
	"context"
	"fmt"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/riverwatch/riverwatch/pkg/hj212"
)

func testUpload(t testing.TB, i int) *Upload {
	t.Helper()
	at := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC).Add(time.Duration(i) * 5 * time.Minute)
	cp, err := hj212.DataCP(at, time.UTC, hj212.V2017, []hj212.Item{hj212.Rtd("w21003", 0.25, hj212.DataFlagNormal)})
	if err != nil {
		t.Fatal(err)
	}
	return &Upload{Readings: 1, Packets: []hj212.Packet{{
		QN: hj212.NewQN(at, time.UTC), ST: hj212.STSurfaceWater, CN: hj212.CNRealtime, PW: "123456",
		MN: "65230100000005", Flag: hj212.NewFlag(hj212.V2017, true, false), CP: cp,
	}}}
}

func runLogger(t *testing.T, d *DataLogger) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	return func() { cancel(); <-done }
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestDataLoggerForgetsAnUploadOnlyOnceAcknowledged(t *testing.T) {
	host := newFakeHost(t)
	u := testUpload(t, 0)
	host.ignoreOnce[u.QN()] = true // the first answer is lost
	reg := prometheus.NewRegistry()
	d := &DataLogger{Addr: host.addr(), AckTimeout: 200 * time.Millisecond, Metrics: NewMetrics(reg), Log: quietLog()}
	stop := runLogger(t, d)
	defer stop()
	d.Enqueue(u)
	d.Enqueue(testUpload(t, 1))
	waitFor(t, "both uploads acknowledged", func() bool { return d.Stats().Acked == 2 })
	got := host.packets()
	if len(got) != 3 || got[0].QN != u.QN() || got[1].QN != u.QN() {
		t.Fatalf("host saw %d packets %v, want the first sent twice (same QN), then the second", len(got), qns(got))
	}
	if got[0].CP != got[1].CP {
		t.Error("the resent upload carries other values")
	}
	s := d.Stats()
	if s.Resent != 1 || s.Pending != 0 || s.GivenUp != 0 {
		t.Errorf("stats = %+v", s)
	}
	if v := metricValue(d.Metrics.Frames.WithLabelValues("resent")); v != 1 {
		t.Errorf("riverwatch_simulator_frames_total{outcome=resent} = %v", v)
	}
	if v := metricValue(d.Metrics.Backlog); v != 0 {
		t.Errorf("backlog gauge = %v after everything was acknowledged", v)
	}
}

func TestDataLoggerKeepsDataWhileTheGatewayIsDownAndSendsItInOrder(t *testing.T) {
	// Reserve an address, then start the host on it only later.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	d := &DataLogger{Addr: addr, AckTimeout: 200 * time.Millisecond, Log: quietLog()}
	stop := runLogger(t, d)
	defer stop()
	var want []string
	for i := range 5 {
		u := testUpload(t, i)
		want = append(want, u.QN())
		d.Enqueue(u)
	}
	time.Sleep(300 * time.Millisecond)
	if d.Pending() != 5 {
		t.Fatalf("pending = %d while the gateway is down, want 5", d.Pending())
	}
	host := &fakeHost{t: t, ignoreOnce: map[string]bool{}}
	host.ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("could not listen again on %s: %v", addr, err)
	}
	host.wg.Add(1)
	go host.accept()
	t.Cleanup(host.close)
	waitFor(t, "the backlog delivered", func() bool { return d.Stats().Acked == 5 })
	if got := qns(host.packets()); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("delivered %v, want in order %v", got, want)
	}
}

func TestDataLoggerHoldsTheLinkDownWhileOffline(t *testing.T) {
	host := newFakeHost(t)
	var offline atomic.Bool
	offline.Store(true)
	d := &DataLogger{Addr: host.addr(), Offline: offline.Load}
	stop := runLogger(t, d)
	defer stop()
	d.Enqueue(testUpload(t, 0))
	time.Sleep(300 * time.Millisecond)
	if n := len(host.packets()); n != 0 {
		t.Fatalf("an offline station sent %d packets", n)
	}
	offline.Store(false)
	waitFor(t, "the kept upload sent", func() bool { return d.Stats().Acked == 1 })
}

func TestDataLoggerGivesUpAnUploadTheGatewayNeverAcknowledges(t *testing.T) {
	host := newFakeHost(t)
	host.silent = true
	d := &DataLogger{Addr: host.addr(), AckTimeout: 50 * time.Millisecond, MaxAttempts: 3, Log: quietLog()}
	stop := runLogger(t, d)
	defer stop()
	d.Enqueue(testUpload(t, 0))
	waitFor(t, "the upload given up", func() bool { return d.Stats().GivenUp == 1 })
	if n := len(host.packets()); n != 3 {
		t.Errorf("sent %d times, want MaxAttempts = 3", n)
	}
}

func TestDataLoggerDropsTheOldestBeyondItsBacklog(t *testing.T) {
	d := &DataLogger{Addr: "127.0.0.1:1", MaxBacklog: 2}
	for i := range 3 {
		d.Enqueue(testUpload(t, i))
	}
	s := d.Stats()
	if s.Pending != 2 || s.Dropped != 1 || d.head().QN() != testUpload(t, 1).QN() {
		t.Errorf("stats = %+v, head %s: want the oldest dropped", s, d.head().QN())
	}
}

func qns(ps []hj212.Packet) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.QN
	}
	return out
}

// metricValue reads a counter or gauge.
func metricValue(m prometheus.Metric) float64 {
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		return -1
	}
	if d.Counter != nil {
		return d.Counter.GetValue()
	}
	return d.Gauge.GetValue()
}

func TestDataLoggerAnswersHostCommandsAroundWhatTheStationDoes(t *testing.T) {
	target := hj212.Target{ST: hj212.STWaterPollution, MN: "65230100000005", PW: "123456", Version: hj212.V2017}
	at := time.Date(2026, 11, 28, 11, 0, 0, 0, time.UTC) // QNs apart from the upload's
	rtd, err := hj212.SetRtdInterval(target, 60, at, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	setTime := hj212.NewCommand(target, hj212.CNSetTime, "SystemTime=20261128100000", at.Add(time.Second), time.UTC)
	for _, c := range []struct {
		name    string
		cmd     hj212.Packet
		execute func(hj212.Packet) (string, error)
		want    []string // CN and CP of each answer, in order
	}{
		{"an executed command is answered 9011 QnRtn=1, then 9012 ExeRtn=1", rtd,
			func(hj212.Packet) (string, error) { return "", nil },
			[]string{"9011 QnRtn=1", "9012 ExeRtn=1"}},
		{"a command with a report sends it under the command's QN before the 9012", hj212.RetainSample(target, at, time.UTC),
			func(hj212.Packet) (string, error) { return "DataTime=20261128100000;VaseNo=1", nil },
			[]string{"9011 QnRtn=1", "3015 DataTime=20261128100000;VaseNo=1", "9012 ExeRtn=1"}},
		{"a command the station could not carry out is accepted and fails with ExeRtn=2", rtd,
			func(hj212.Packet) (string, error) { return "", fmt.Errorf("pump stuck") },
			[]string{"9011 QnRtn=1", "9012 ExeRtn=2"}},
		{"a command the station does not support is refused with QnRtn=2", setTime,
			func(hj212.Packet) (string, error) { return "", ErrUnsupportedCommand },
			[]string{"9011 QnRtn=2"}},
		{"without Execute every command is refused", rtd, nil, []string{"9011 QnRtn=2"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			host := newFakeHost(t)
			var calls atomic.Int32
			d := &DataLogger{Addr: host.addr(), AckTimeout: time.Second, Log: quietLog()}
			if c.execute != nil {
				d.Execute = func(p hj212.Packet) (string, error) { calls.Add(1); return c.execute(p) }
			}
			stop := runLogger(t, d)
			defer stop()
			d.Enqueue(testUpload(t, 0)) // connects; the command comes while the logger is idle
			waitFor(t, "the upload acknowledged", func() bool { return d.Stats().Acked == 1 })
			host.command(c.cmd)
			waitFor(t, "the answers", func() bool { return len(host.answersTo(c.cmd.QN)) >= len(c.want) })
			// The host resends the command (as after a lost 9011): the same answers again,
			// and the station does not carry it out twice.
			host.command(c.cmd)
			waitFor(t, "the answers to the resend", func() bool { return len(host.answersTo(c.cmd.QN)) >= 2*len(c.want) })
			var got []string
			for _, p := range host.answersTo(c.cmd.QN) {
				if p.WantsAck() {
					t.Errorf("answer %s asks for an answer itself", p.CN)
				}
				got = append(got, p.CN+" "+p.CP)
			}
			want := append(slices.Clone(c.want), c.want...)
			if !slices.Equal(got, want) {
				t.Errorf("answers %q, want %q", got, want)
			}
			if c.execute != nil && calls.Load() != 1 {
				t.Errorf("Execute ran %d times for one command sent twice, want once", calls.Load())
			}
		})
	}
}

// A logger with an SM4 key sends its data encrypted with it; a 1014 (encrypted with that
// key) gives it a new one, and the uploads after its 9012 are encrypted with the new key.
func TestDataLoggerEncryptsWithTheKeyA1014GivesItFromThenOn(t *testing.T) {
	cur, err := hj212.ParseSM4Key("8f3ae1c9027b44d5a6e0193c7d2b5f18")
	if err != nil {
		t.Fatal(err)
	}
	next, err := hj212.ParseSM4Key("5a1c7e93b2d04f68a9e3c1b7d5f20846")
	if err != nil {
		t.Fatal(err)
	}
	host := newFakeHost(t)
	host.keys = []hj212.SM4Key{cur, next}
	var mu sync.Mutex
	keys := []hj212.SM4Key{cur}
	d := &DataLogger{Addr: host.addr(), AckTimeout: time.Second, Log: quietLog(),
		Keys: func() []hj212.SM4Key { mu.Lock(); defer mu.Unlock(); return slices.Clone(keys) },
		Execute: func(p hj212.Packet) (string, error) {
			k, err := hj212.ParseSetKey(p.CP)
			if err != nil {
				return "", err
			}
			mu.Lock()
			keys = append([]hj212.SM4Key{k}, keys...)
			mu.Unlock()
			return "", nil
		}}
	stop := runLogger(t, d)
	defer stop()
	d.Enqueue(testUpload(t, 0))
	waitFor(t, "the first upload acknowledged", func() bool { return d.Stats().Acked == 1 })
	target := hj212.Target{ST: hj212.STSurfaceWater, MN: "65230100000005", PW: "123456", Version: hj212.V2025}
	cmd, err := hj212.SetKey(target, next, time.Date(2026, 11, 28, 11, 0, 0, 0, time.UTC), time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	host.command(cmd)
	waitFor(t, "the 9011 and 9012", func() bool { return len(host.answersTo(cmd.QN)) == 2 })
	if a := host.answersTo(cmd.QN); a[1].CP != "ExeRtn=1" {
		t.Fatalf("1014 answered %q", a[1].CP)
	}
	d.Enqueue(testUpload(t, 1))
	waitFor(t, "the second upload acknowledged", func() bool { return d.Stats().Acked == 2 })
	host.mu.Lock()
	fk := slices.Clone(host.frameKeys)
	host.mu.Unlock()
	if len(fk) != 2 || !fk[0].Equal(cur) || !fk[1].Equal(next) {
		t.Fatalf("%d encrypted frames; want the upload before the 1014 under the old key, the one after under the new", len(fk))
	}
}
