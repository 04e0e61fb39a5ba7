package assessor_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/riverwatch/riverwatch/pkg/config"
	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/stream"
	"github.com/riverwatch/riverwatch/pkg/testinfra"
)

// base is the observed time the scripted sequence starts at.
var base = time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)

const h = time.Hour

// step is one scripted reading on the real network (configs/sites.yaml).
type step struct {
	site, param string
	value       float64
	at          time.Duration // observed at base + at
	flag        string
	interval    string // message.Interval*; empty: hourly
}

// script is the sequence the integration tests publish, in this order. The comments
// give the arithmetic of the expected events (see expected).
var script = []step{
	// Background: the outfall's mixing reads them. Sites are on different partitions,
	// so these are published, and judged, before the rest (see publishScript).
	{"STH-S1", "cod", 10, 0, "", ""},    // background above the outfall
	{"STH-D2", "cod", 12, 0, "", ""},    // the intake's own level
	{"STH-O1", "cod", 100, h, "", ""},   // 2 × the GB18918-1A limit of 50: severe, opens at once
	{"TTH-S2", "nh3n", 1.2, h, "", ""},  // Class IV: pending
	{"STH-S2", "ph", 9.9, h, "T", ""},   // above the instrument's range: quality.suspect
	{"TTH-S3", "hg", 0.0005, h, "", ""}, // toxic: opens at once
	{"TTH-S2", "nh3n", 1.3, 2 * h, "", ""},
	{"STH-O1", "cod", 30, 2 * h, "", ""},
	{"TTH-S3", "hg", 0.00002, 2 * h, "", ""},
	{"TTH-S2", "nh3n", 1.4, 3 * h, "", ""},
	{"STH-O1", "cod", 30, 3 * h, "", ""},
	{"TTH-S3", "hg", 0.00002, 3 * h, "", ""},
	{"STH-O1", "cod", 30, 4 * h, "", ""}, // third clean: cleared
	{"TTH-S3", "hg", 0.00002, 4 * h, "", ""},
	{"TTH-S2", "nh3n", 0.5, 4 * h, "", ""},
	{"TTH-S3", "hg", 0.0005, 3*h + 30*time.Minute, "", ""}, // late, within grace, severe: reopens
	{"TTH-S2", "nh3n", 0.5, 5 * h, "", ""},
	{"TTH-S2", "nh3n", 0.6, 6 * h, "", ""}, // third clean: cleared
	{"STH-S3", "cod", 12, 6 * h, "", ""},
	// Real-time pH at STH-S3: 10.5 is a unit outside 6–9, severe, opens at 5 h 10 min; three
	// readings inside the band clear it at 5 h 40 min. The 5:00–6:00 mean, 10.2 and severe,
	// arrives when its hour ends, 40 minutes behind the real-time values: the real-time data
	// covered that hour, so it is not judged and reopens nothing.
	{"STH-S3", "ph", 7.5, 5 * h, "", message.IntervalRealtime},
	{"STH-S3", "ph", 10.5, 5*h + 10*time.Minute, "", message.IntervalRealtime},
	{"STH-S3", "ph", 7.5, 5*h + 20*time.Minute, "", message.IntervalRealtime},
	{"STH-S3", "ph", 7.6, 5*h + 30*time.Minute, "", message.IntervalRealtime},
	{"STH-S3", "ph", 7.5, 5*h + 40*time.Minute, "", message.IntervalRealtime},
	{"STH-S3", "ph", 10.2, 5 * h, "", message.IntervalHour},
	// Predictions are withdrawn in observed time: this reading moves the stream time past
	// the clean water's arrival at STH-D2 (4 h + 20,000 s) and at TTH-S3 (6 h + 30,000 s).
	// The wall clock, a year and more ahead, withdraws nothing.
	{"STH-S1", "cod", 10, 15 * h, "", ""},
}

// want is one expected event.
type want struct {
	typ, site, param string
	at               time.Duration // observed time, from base
	origin           string        // predictions: the origin site
	idAt             time.Duration // predictions: the observed time that names the id
}

func (w want) id() string {
	switch w.typ {
	case message.EventPredictionIssued, message.EventPredictionCleared:
		return message.EventID(w.typ, w.site, w.param, base.Add(w.idAt), w.origin)
	case message.EventQualitySuspect:
		return message.EventID(w.typ, w.site, w.param, base.Add(w.at), "over_range")
	}
	return message.EventID(w.typ, w.site, w.param, base.Add(w.at), "")
}

// expected lists the events of script, each series in order.
//
//   - STH-O1 (Santun, km 66, 0.6 m³/s) COD 100 mixes with the river (5 m³/s) carrying the
//     10 of STH-S1: (100 × 0.6 + 10 × 5)/5.6 = 19.6. STH-S2 (Class III, 20) and STH-S3
//     meet; the intake STH-D2 (Class II, 15) fails: predicted, 16 km at 0.8 m/s = 20,000 s.
//     Cleared at 4 h; the clean water reaches STH-D2 20,000 s later, in observed time.
//   - TTH-S2 NH3-N confirmed at 2 h (a run of 1 h ≥ confirm_duration 30 min), carried to
//     TTH-S3 (30 km, 1 m/s: 30,000 s) at 1.3 > 1.0; cleared at 6 h.
var expected = []want{
	{typ: message.EventExceedanceOpened, site: "STH-O1", param: "cod", at: h},
	{typ: message.EventPredictionIssued, site: "STH-D2", param: "cod", at: h, origin: "STH-O1", idAt: h},
	{typ: message.EventExceedanceOpened, site: "TTH-S3", param: "hg", at: h},
	{typ: message.EventQualitySuspect, site: "STH-S2", param: "ph", at: h},
	{typ: message.EventExceedanceOpened, site: "TTH-S2", param: "nh3n", at: 2 * h},
	{typ: message.EventPredictionIssued, site: "TTH-S3", param: "nh3n", at: 2 * h, origin: "TTH-S2", idAt: 2 * h},
	{typ: message.EventExceedanceCleared, site: "STH-O1", param: "cod", at: 4 * h},
	{typ: message.EventExceedanceCleared, site: "TTH-S3", param: "hg", at: 4 * h},
	{typ: message.EventExceedanceOpened, site: "TTH-S3", param: "hg", at: 3*h + 30*time.Minute},
	{typ: message.EventExceedanceCleared, site: "TTH-S2", param: "nh3n", at: 6 * h},
	{typ: message.EventExceedanceOpened, site: "STH-S3", param: "ph", at: 5*h + 10*time.Minute},
	{typ: message.EventExceedanceCleared, site: "STH-S3", param: "ph", at: 5*h + 40*time.Minute},
	{typ: message.EventPredictionCleared, site: "STH-D2", param: "cod", at: 4*h + 20000*time.Second, origin: "STH-O1", idAt: h},
	{typ: message.EventPredictionCleared, site: "TTH-S3", param: "nh3n", at: 6*h + 30000*time.Second, origin: "TTH-S2", idAt: 2 * h},
}

func TestScriptedSequenceProducesExactlyTheExpectedEvents(t *testing.T) {
	cfg := testConfig(t)
	run := newRun(t, cfg)
	run.start()
	run.publishScript(script)
	got := run.waitEvents(len(expected))
	run.stop(syscall.SIGTERM)
	checkEvents(t, got)
	run.checkRejected(0)
}

func TestSequenceIsTheSameAfterSIGKILL(t *testing.T) {
	cfg := testConfig(t)
	run := newRun(t, cfg)
	run.start()
	first, rest := script[:7], script[7:]
	run.publishScript(first)
	run.waitFor("the first events", func(evs []message.Event) bool { return len(uniq(evs)) >= 5 })

	// Kill while the rest is being published, a reading every 20 ms: the assessor dies
	// somewhere in the middle of a batch, between a publish and a commit, or idle.
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, s := range rest {
			run.publish(s)
			time.Sleep(20 * time.Millisecond)
		}
	}()
	time.Sleep(60 * time.Millisecond)
	run.stop(syscall.SIGKILL)
	<-done
	run.start()
	got := run.waitEvents(len(expected))
	run.stop(syscall.SIGTERM)
	checkEvents(t, got)
}

func TestSequenceIsTheSameAcrossRebalances(t *testing.T) {
	cfg := testConfig(t)
	run := newRun(t, cfg)
	run.start()
	first, rest := script[:7], script[7:]
	run.publishScript(first)
	run.waitFor("the first events", func(evs []message.Event) bool { return len(uniq(evs)) >= 5 })

	// A second instance joins: the group splits the partitions and both restore their
	// share from the state topic. Then it leaves, and its partitions go back.
	second := run.start()
	for _, s := range rest[:5] {
		run.publish(s)
		time.Sleep(20 * time.Millisecond)
	}
	run.stopProc(second, syscall.SIGTERM)
	run.publish(rest[5:]...)
	got := run.waitEvents(len(expected))
	run.stopProc(run.procs[0], syscall.SIGTERM)
	checkEvents(t, got)
	if n := strings.Count(run.logs.String(), "state restored"); n < 3 {
		t.Errorf("%d restores, want one per generation and instance (≥ 3)", n)
	}
}

func TestUndecodableReadingIsRejectedAndTheRestJudged(t *testing.T) {
	cfg := testConfig(t)
	run := newRun(t, cfg)
	run.start()
	run.publishRaw("STH-S1", []byte(`{"site": "STH-S1", "value": "not a number"`))
	run.publishScript(script)
	got := run.waitEvents(len(expected))
	run.stop(syscall.SIGTERM)
	checkEvents(t, got)
	run.checkRejected(1)
}

// checkEvents compares what the assessor published (duplicates by id allowed: a replay
// after a crash republishes the same ids) with expected: the same ids, no other, and each
// series' events in the expected order.
func checkEvents(t *testing.T, got []message.Event) {
	t.Helper()
	u := uniq(got)
	wantIDs := map[string]want{}
	for _, w := range expected {
		wantIDs[w.id()] = w
	}
	gotIDs := map[string]message.Event{}
	for _, ev := range u {
		gotIDs[ev.ID] = ev
		w, ok := wantIDs[ev.ID]
		if !ok {
			t.Errorf("unexpected event %s %s %s %s at %s: %s", ev.ID[:8], ev.Type, ev.Site, ev.Parameter, ev.ObservedAt.Format(time.RFC3339), ev.Reason)
			continue
		}
		if ev.Type != w.typ || ev.Site != w.site || ev.Parameter != w.param || !ev.ObservedAt.Equal(base.Add(w.at)) {
			t.Errorf("event %s is %s %s %s at %v, want %+v", ev.ID[:8], ev.Type, ev.Site, ev.Parameter, ev.ObservedAt, w)
		}
	}
	for id, w := range wantIDs {
		if _, ok := gotIDs[id]; !ok {
			t.Errorf("missing %s %s %s at +%v", w.typ, w.site, w.param, w.at)
		}
	}
	// Order within each series (site × parameter), by first publication.
	order := map[string][]string{}
	for _, ev := range u {
		k := ev.Site + "|" + ev.Parameter
		order[k] = append(order[k], ev.ID)
	}
	for _, w := range expected {
		k := w.site + "|" + w.param
		if len(order[k]) == 0 {
			continue // reported as missing
		}
		if order[k][0] != w.id() {
			t.Errorf("series %s: event %s %s at +%v out of order", k, w.typ, w.site, w.at)
		}
		order[k] = order[k][1:]
	}
	if dups := len(got) - len(u); dups > 0 {
		t.Logf("%d events republished with the same id (a replay after the crash)", dups)
	}
	for _, ev := range u {
		if ev.Type == message.EventExceedanceOpened && ev.ReadingReceivedAt.IsZero() {
			t.Errorf("opened event without reading_received_at: %+v", ev)
		}
	}
}

// uniq keeps the first event of each id, in publication order.
func uniq(evs []message.Event) []message.Event {
	seen := map[string]bool{}
	var out []message.Event
	for _, ev := range evs {
		if !seen[ev.ID] {
			seen[ev.ID] = true
			out = append(out, ev)
		}
	}
	return out
}

func testConfig(t *testing.T) *config.Config {
	t.Helper()
	cfg := testinfra.Config(t)
	return cfg
}

// run drives assessor processes and the topics around them.
type run struct {
	t      *testing.T
	cfg    *config.Config
	bin    string
	procs  []*proc
	logs   *lockedBuffer
	w      *stream.Writer
	mu     sync.Mutex
	events []message.Event
}

// proc is one assessor process.
type proc struct {
	name string
	addr string
	cmd  *exec.Cmd
}

// lockedBuffer collects the logs of several processes.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newRun(t *testing.T, cfg *config.Config) *run {
	t.Helper()
	r := &run{t: t, cfg: cfg, bin: testinfra.BuildService(t, "assessor"), logs: &lockedBuffer{}}
	r.w = stream.NewWriter(stream.WriterConfig{Cluster: stream.Plain(cfg.Kafka.Brokers...), Topic: cfg.Kafka.Topics.Readings}, nil)
	warmUp(t, r.w)
	ctx, cancel := context.WithCancel(context.Background())
	reader := kafka.NewReader(kafka.ReaderConfig{
		Brokers: cfg.Kafka.Brokers, Topic: cfg.Kafka.Topics.Events, GroupID: cfg.Kafka.GroupPrefix + ".test",
		StartOffset: kafka.FirstOffset, MinBytes: 1, MaxBytes: 10 << 20, MaxWait: 100 * time.Millisecond,
	})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			m, err := reader.ReadMessage(ctx)
			if err != nil {
				return
			}
			var ev message.Event
			if err := json.Unmarshal(m.Value, &ev); err != nil {
				t.Errorf("event: %v", err)
				continue
			}
			r.mu.Lock()
			r.events = append(r.events, ev)
			r.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		for _, p := range r.procs {
			if p.cmd.ProcessState != nil {
				continue
			}
			if t.Failed() {
				// The assessor's counters and a goroutine dump in the logs, for whoever
				// debugs the failure.
				r.logMetrics(p)
				r.stopProc(p, syscall.SIGQUIT)
			} else {
				r.stopProc(p, syscall.SIGKILL)
			}
		}
		cancel()
		wg.Wait()
		reader.Close()
		r.w.Close()
		if t.Failed() || os.Getenv("RIVERWATCH_TEST_LOGS") != "" {
			t.Logf("assessor logs:\n%s", r.logs.String())
		}
	})
	return r
}

// start runs one more assessor process and waits until it is ready.
func (r *run) start() *proc {
	r.t.Helper()
	p := &proc{name: fmt.Sprintf("assessor-%d", len(r.procs)+1), addr: testinfra.FreeAddr(r.t)}
	p.cmd = exec.Command(r.bin, "-config", filepath.Join(testinfra.ModuleRoot(r.t), "configs", "riverwatch.yaml"))
	p.cmd.Env = append(testinfra.Env(r.cfg),
		"RIVERWATCH_ASSESSOR_LISTEN="+p.addr,
		"RIVERWATCH_ASSESSOR_TICK_INTERVAL=300ms",
	)
	p.cmd.Stdout, p.cmd.Stderr = r.logs, r.logs
	fmt.Fprintf(r.logs, "---- %s starting ----\n", p.name)
	if err := p.cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	r.procs = append(r.procs, p)
	testinfra.Eventually(r.t, 60*time.Second, p.name+" ready", func() bool { return p.ready() })
	return p
}

// ready reports whether the process answers /readyz with 200.
func (p *proc) ready() bool {
	resp, err := http.Get("http://" + p.addr + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// stop signals the most recently started assessor and waits for it to exit.
func (r *run) stop(sig syscall.Signal) {
	r.t.Helper()
	r.stopProc(r.procs[len(r.procs)-1], sig)
}

func (r *run) stopProc(p *proc, sig syscall.Signal) {
	r.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		r.t.Fatal(err)
	}
	err := p.cmd.Wait()
	if sig == syscall.SIGTERM && err != nil {
		r.t.Errorf("%s did not stop cleanly on SIGTERM: %v", p.name, err)
	}
	fmt.Fprintf(r.logs, "---- %s stopped with %v ----\n", p.name, sig)
}

// publish sends scripted readings, received now.
func (r *run) publish(steps ...step) {
	r.t.Helper()
	var msgs []kafka.Message
	for _, s := range steps {
		obs := base.Add(s.at)
		flag := s.flag
		if flag == "" {
			flag = message.FlagNormal
		}
		interval := s.interval
		if interval == "" {
			interval = message.IntervalHour
		}
		rd := message.Reading{
			ID: message.ReadingID(s.site, s.param, interval, obs), Site: s.site, Parameter: s.param,
			Value: s.value, Interval: interval, Flag: flag, ObservedAt: obs,
			ReceivedAt: time.Now().UTC(), Source: message.SourceHJ212,
		}
		v, err := json.Marshal(rd)
		if err != nil {
			r.t.Fatal(err)
		}
		msgs = append(msgs, kafka.Message{Key: []byte(s.site), Value: v})
	}
	if err := r.w.Publish(context.Background(), msgs...); err != nil {
		r.t.Error(err)
	}
}

// background is how many steps at the head of script are background readings.
const background = 2

// publishScript publishes the background readings, waits until the assessor judged them,
// then the rest. Readings of different sites travel on different partitions, so without
// the wait the outfall's spike could be judged before the background it mixes with.
func (r *run) publishScript(steps []step) {
	r.t.Helper()
	r.publish(steps[:background]...)
	testinfra.Eventually(r.t, 30*time.Second, "background judged", func() bool {
		var n float64
		for _, p := range r.procs {
			if p.cmd.ProcessState == nil {
				n += p.metric(`riverwatch_assessor_readings_total{outcome="judged"}`)
			}
		}
		return n >= background
	})
	r.publish(steps[background:]...)
}

// metric sums the samples the process serves whose line starts with prefix: a metric's
// name, or its name and labels.
func (p *proc) metric(prefix string) float64 {
	resp, err := http.Get("http://" + p.addr + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	var sum float64
	for _, line := range strings.Split(buf.String(), "\n") {
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err == nil {
			sum += v
		}
	}
	return sum
}

func (r *run) publishRaw(key string, value []byte) {
	r.t.Helper()
	if err := r.w.Publish(context.Background(), kafka.Message{Key: []byte(key), Value: value}); err != nil {
		r.t.Fatal(err)
	}
}

// waitFor waits until cond holds on the events received so far.
func (r *run) waitFor(what string, cond func([]message.Event) bool) {
	r.t.Helper()
	testinfra.Eventually(r.t, 60*time.Second, what, func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return cond(r.events)
	})
}

// waitEvents waits for n distinct events, then a little longer so that an extra event
// would be seen too, and returns everything received.
func (r *run) waitEvents(n int) []message.Event {
	r.t.Helper()
	r.waitFor(fmt.Sprintf("%d distinct events", n), func(evs []message.Event) bool { return len(uniq(evs)) >= n })
	time.Sleep(2 * time.Second)
	r.mu.Lock()
	defer r.mu.Unlock()
	out := append([]message.Event(nil), r.events...)
	if len(uniq(out)) != n {
		var lines []string
		for _, ev := range uniq(out) {
			lines = append(lines, fmt.Sprintf("%s %s %s %s", ev.Type, ev.Site, ev.Parameter, ev.ObservedAt.Format(time.RFC3339)))
		}
		sort.Strings(lines)
		r.t.Logf("events:\n%s", strings.Join(lines, "\n"))
	}
	return out
}

// checkRejected counts the rejections on the rejected topic.
func (r *run) checkRejected(n int) {
	r.t.Helper()
	reader := kafka.NewReader(kafka.ReaderConfig{
		Brokers: r.cfg.Kafka.Brokers, Topic: r.cfg.Kafka.Topics.Rejected, GroupID: r.cfg.Kafka.GroupPrefix + ".rejected",
		StartOffset: kafka.FirstOffset, MinBytes: 1, MaxBytes: 10 << 20, MaxWait: 100 * time.Millisecond,
	})
	defer reader.Close()
	var got []message.Rejection
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	for {
		m, err := reader.ReadMessage(ctx)
		if err != nil {
			break
		}
		var rej message.Rejection
		if err := json.Unmarshal(m.Value, &rej); err != nil {
			r.t.Fatal(err)
		}
		got = append(got, rej)
	}
	if len(got) != n {
		r.t.Fatalf("%d rejections, want %d: %+v", len(got), n, got)
	}
	for _, rej := range got {
		if rej.Reason != message.ReasonUndecodable || rej.Source != "assessor" || rej.Raw == "" || rej.Detail == "" {
			r.t.Errorf("rejection %+v", rej)
		}
	}
}

// logMetrics appends a process's own metrics to the logs.
func (r *run) logMetrics(p *proc) {
	resp, err := http.Get("http://" + p.addr + "/metrics")
	if err != nil {
		fmt.Fprintf(r.logs, "metrics: %v\n", err)
		return
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	for _, line := range strings.Split(buf.String(), "\n") {
		if strings.HasPrefix(line, "riverwatch_assessor_") && !strings.Contains(line, "_bucket") {
			fmt.Fprintln(r.logs, line)
		}
	}
}
