package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/riverwatch/riverwatch/pkg/stream"
)

// Figure keys of the throughput step.
const (
	keyE2E = "e2e.%s.rate" // per mode: min(rows in ClickHouse, readings judged) per second
	// KeyKafkaBracket is the mean of raw produce→consume before and after the pipeline
	// runs: the baseline of the end-to-end rates.
	KeyKafkaBracket = "kafka.produce_consume.bracket"
)

// loadStations is how many load stations the bench network has: a disjoint set for each
// throughput mode and each latency rate, each set whole rivers of 20.
func (e *Env) loadStations() int {
	rivers := func(n int) int { return (n + 19) / 20 * 20 }
	return rivers(e.Settings.Stations) + rivers(e.Settings.HJ212Stations) + len(e.Settings.LatencyRates)*rivers(e.Settings.Stations)
}

// nextLoadSet hands out the next n load stations (rounded up to whole rivers of 20) and
// writes the simulator's sites file for them.
func (e *Env) nextLoadSet(n int) (string, error) {
	st := &e.stack
	st.mu.Lock()
	defer st.mu.Unlock()
	from := st.nextStation
	to := from + n
	if to > e.loadStations() {
		return "", fmt.Errorf("no load stations left (%d used of %d)", from, e.loadStations())
	}
	st.nextStation = (to + 19) / 20 * 20
	path := filepath.Join(e.WorkDir(), fmt.Sprintf("sites-load-%d.yaml", from))
	if err := writeNetwork(path, from, to, 0); err != nil {
		return "", err
	}
	return path, nil
}

// LoadRun is one run of `simulator load`.
type LoadRun struct {
	Mode     string
	Rate     float64 // target readings/s, 0 as fast as it goes
	Duration time.Duration
	Stations int
}

// LoadOutcome is what the simulator reported and when it ran.
type LoadOutcome struct {
	Readings int64
	Rate     float64 // achieved readings/s as the simulator counted them
	Line     string
	Started  time.Time
	Ended    time.Time
	CPU      time.Duration // the simulator's own CPU time: the load generator shares the machine
}

var loadLine = regexp.MustCompile(`: (\d+) readings \(([\d.]+) readings/s\)`)

// ParseLoadLine reads the result line of `simulator load`.
func ParseLoadLine(s string) (readings int64, rate float64, ok bool) {
	m := loadLine.FindStringSubmatch(s)
	if m == nil {
		return 0, 0, false
	}
	readings, _ = strconv.ParseInt(m[1], 10, 64)
	rate, _ = strconv.ParseFloat(m[2], 64)
	return readings, rate, true
}

// simulate runs `simulator load` on a fresh set of stations and waits for it.
func (e *Env) simulate(ctx context.Context, r LoadRun) (LoadOutcome, error) {
	bin, err := e.binary("simulator")
	if err != nil {
		return LoadOutcome{}, err
	}
	sites, err := e.nextLoadSet(r.Stations)
	if err != nil {
		return LoadOutcome{}, err
	}
	env := append(e.serviceEnv(), "RIVERWATCH_SITES_FILE="+sites)
	var out LoadOutcome
	var mu sync.Mutex
	args := []string{"load", "-config", filepath.Join(e.Root, "configs", "riverwatch.yaml"),
		"-stations", strconv.Itoa(r.Stations), "-params", strconv.Itoa(e.Settings.Params),
		"-rate", strconv.FormatFloat(r.Rate, 'f', -1, 64), "-mode", r.Mode, "-duration", r.Duration.String()}
	if r.Mode == "hj212" {
		args = append(args, "-gateway", e.stack.hj212)
	}
	out.Started = time.Now()
	c, err := e.startWithEnv(ctx, func(l Line) {
		if n, rate, ok := ParseLoadLine(l.Text); ok {
			mu.Lock()
			out.Readings, out.Rate, out.Line = n, rate, l.Text
			mu.Unlock()
		}
	}, env, bin, args...)
	if err != nil {
		return out, err
	}
	if err := c.Wait(); err != nil {
		return out, err
	}
	out.Ended = time.Now()
	out.CPU = c.CPU()
	mu.Lock()
	defer mu.Unlock()
	if out.Line == "" {
		return out, fmt.Errorf("simulator load printed no result")
	}
	return out, nil
}

// counters are the pipeline's progress counters at one moment.
type counters struct {
	at     time.Time
	rows   float64 // readings rows the archiver wrote
	judged float64 // readings the assessor consumed, whatever the outcome
	// Where the time goes: the archiver's readings batches, seconds in their INSERTs and
	// in rollup rebuilds; the assessor's batches and their seconds.
	archBatches, archInsert, archRollup float64
	assBatches, assSeconds              float64
	// The assessor's synchronous publishes: count and seconds, events and state.
	evPub, evPubSec, stPub, stPubSec float64
	cpu                              map[string]float64 // service → process CPU seconds
}

func (e *Env) readCounters(ctx context.Context) counters {
	c := counters{at: time.Now(), cpu: map[string]float64{}}
	for _, srv := range []string{"kafka", "clickhouse"} {
		if v, ok := e.serverCPU(srv); ok {
			c.cpu[srv] = v
		}
	}
	// One scrape per service per sample: the bench samples twice a second, and scraping the
	// assessor once per figure cost it a twelfth of its CPU (rwbench -profile), which the
	// CPU per reading then counted. Prometheus scrapes every 15 s or so.
	bodies := map[string][]byte{}
	for _, name := range serviceOrder {
		if a := e.serviceAddr(name); a != "" {
			if b, err := fetchMetrics(ctx, a); err == nil {
				bodies[name] = b
			}
		}
	}
	sum := func(service, metric string, match map[string]string) (float64, error) {
		b, ok := bodies[service]
		if !ok {
			return 0, fmt.Errorf("%s: no metrics", service)
		}
		return sumMetric(bytes.NewReader(b), metric, match)
	}
	for name := range bodies {
		if v, err := sum(name, "process_cpu_seconds_total", nil); err == nil {
			c.cpu[name] = v
		}
	}
	readings := e.topics().Readings
	c.rows, _ = sum("archiver", "riverwatch_archiver_rows_written_total", map[string]string{"table": "readings"})
	c.archBatches, _ = sum("archiver", "riverwatch_archiver_batches_total", map[string]string{"topic": readings})
	c.archInsert, _ = sum("archiver", "riverwatch_archiver_insert_duration_seconds_sum", map[string]string{"table": "readings"})
	c.archRollup, _ = sum("archiver", "riverwatch_archiver_rollup_duration_seconds_sum", nil)
	c.judged, _ = sum("assessor", "riverwatch_assessor_readings_total", nil)
	c.assBatches, _ = sum("assessor", "riverwatch_assessor_batch_duration_seconds_count", nil)
	c.assSeconds, _ = sum("assessor", "riverwatch_assessor_batch_duration_seconds_sum", nil)
	c.evPub, _ = sum("assessor", "riverwatch_assessor_publish_duration_seconds_count", map[string]string{"topic": "events"})
	c.evPubSec, _ = sum("assessor", "riverwatch_assessor_publish_duration_seconds_sum", map[string]string{"topic": "events"})
	c.stPub, _ = sum("assessor", "riverwatch_assessor_publish_duration_seconds_count", map[string]string{"topic": "state"})
	c.stPubSec, _ = sum("assessor", "riverwatch_assessor_publish_duration_seconds_sum", map[string]string{"topic": "state"})
	return c
}

// serverCPU returns the CPU seconds (user + system) the Kafka broker or the ClickHouse
// server started by deploy/local has used, from its pid file and /proc. The servers are
// shared, so what other clients make them do is counted too.
func (e *Env) serverCPU(name string) (float64, bool) {
	b, err := os.ReadFile(filepath.Join(e.StateDir, "pids", name+".pid"))
	if err != nil {
		return 0, false
	}
	stat, err := os.ReadFile("/proc/" + strings.TrimSpace(string(b)) + "/stat")
	if err != nil {
		return 0, false
	}
	return procCPU(stat)
}

// procCPU returns utime + stime in seconds from the contents of /proc/PID/stat.
func procCPU(stat []byte) (float64, bool) {
	// Fields after the command (which may hold spaces and parentheses) start after the
	// last ')'; utime and stime are fields 14 and 15 of the line.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 13 {
		return 0, false
	}
	ut, err1 := strconv.ParseFloat(f[11], 64) // utime, field 14
	st, err2 := strconv.ParseFloat(f[12], 64) // stime, field 15
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return (ut + st) / clockTicks, true
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat times: 100 on Linux everywhere.
const clockTicks = 100

// caughtUp waits, up to max, until the archiver and the assessor have taken every reading
// offered so far, so that a measurement does not share the machine with the backlog of
// the one before. It returns false (and the step notes it) if they have not.
func (e *Env) caughtUp(ctx context.Context, max time.Duration) (counters, bool) {
	want := float64(e.stack.offered.Load())
	deadline := time.Now().Add(max)
	for {
		c := e.readCounters(ctx)
		rowsOK := c.rows >= want || e.serviceAddr("archiver") == ""
		judgedOK := c.judged >= want || e.serviceAddr("assessor") == ""
		if rowsOK && judgedOK {
			return c, true
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return c, false
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// Throughput offers the simulator's load as fast as the pipeline takes it, over HJ 212
// through the gateway and straight to Kafka, and measures how fast the readings become
// rows in ClickHouse and readings judged by the assessor: n readings over the time from
// the load's start until the last of them is stored (judged). The whole stack runs
// meanwhile, as in production.
func Throughput(ctx context.Context, e *Env, s *Step) error {
	if _, err := e.binary("simulator"); err != nil {
		return err
	}
	if err := e.Services(ctx, "archiver", "assessor"); err != nil {
		return err
	}
	for _, opt := range []string{"gateway", "responder", "api"} {
		if err := e.Services(ctx, opt); err != nil {
			s.Note("%v (the pipeline ran without it)", err)
		}
	}
	s.Note("load: %d parameters per station, rate unlimited, %s per mode, drain up to %s; kafka: %d stations; hj212: %d stations on a connection each, each waiting for its 9014 before the next upload",
		e.Settings.Params, e.Settings.Throughput, e.Settings.Drain, e.Settings.Stations, e.Settings.HJ212Stations)
	ran := 0
	for _, mode := range []string{"kafka", "hj212"} {
		if mode == "hj212" && e.serviceAddr("gateway") == "" {
			s.Note("hj212 mode not available: no gateway")
			continue
		}
		if err := e.throughputMode(ctx, s, mode); err != nil {
			if reason, ok := isNotAvailable(err); ok {
				s.Note("%s mode not available: %s", mode, reason)
				continue
			}
			return fmt.Errorf("%s mode: %w", mode, err)
		}
		ran++
	}
	if ran == 0 {
		return notAvailable("no load mode could run")
	}
	e.bracketBaseline(ctx, s)
	for _, mode := range []string{"kafka", "hj212"} {
		for _, f := range s.Figures {
			if f.Key != fmt.Sprintf(keyE2E, mode) {
				continue
			}
			met := f.Value >= 100_000
			if b, ok := e.Run.Figure(f.Baseline); ok && b.Value > 0 && f.Value >= 0.5*b.Value {
				met = true
			}
			f.WithGoal("≥ 100,000/s or ≥ 50 % of raw produce→consume", met)
		}
	}
	return nil
}

// bracketBaseline measures raw produce→consume again right after the pipeline runs and
// compares the pipeline with the mean of the two measurements: other work on a shared
// machine comes and goes, and a baseline taken minutes earlier can be far off.
func (e *Env) bracketBaseline(ctx context.Context, s *Step) {
	before, ok := e.Run.Figure(KeyKafkaProduceConsume)
	if !ok {
		return
	}
	p, err := e.Payload()
	if err != nil {
		return
	}
	if c, ok := e.caughtUp(ctx, e.Settings.Drain); !ok {
		s.Note("the pipeline was still behind when raw produce→consume was measured again (rows %.0f, judged %.0f of %d)",
			c.rows, c.judged, e.stack.offered.Load())
	}
	topic := e.Topic("raw-pc-after")
	if err := stream.EnsureTopics(ctx, stream.Plain(e.Brokers...), stream.TopicSpec{Name: topic, Partitions: e.Settings.Partitions}); err != nil {
		s.Note("raw produce→consume not measured again: %v", err)
		return
	}
	e.Log.Info("throughput: raw produce→consume again, to bracket the pipeline runs")
	after, err := e.produceConsume(ctx, topic, e.Settings.KafkaTime, p)
	if err != nil {
		s.Note("raw produce→consume not measured again: %v", err)
		return
	}
	s.Add("kafka.produce_consume.after", "raw produce→consume, again after these runs", after, "rec/s")
	s.Add(KeyKafkaBracket, "raw produce→consume, mean of before and after", (before.Value+after)/2, "rec/s")
	for _, f := range s.Figures {
		if f.Baseline == KeyKafkaProduceConsume {
			f.Baseline = KeyKafkaBracket
		}
	}
}

func (e *Env) throughputMode(ctx context.Context, s *Step, mode string) error {
	before, ok := e.caughtUp(ctx, e.Settings.Drain)
	if !ok {
		s.Note("%s: the pipeline was still behind on earlier load when this mode started (rows %.0f, judged %.0f of %d)",
			mode, before.rows, before.judged, e.stack.offered.Load())
	}
	var mu sync.Mutex
	samples := []counters{before}
	sampleCtx, stopSampling := context.WithCancel(ctx)
	defer stopSampling()
	go func() {
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-sampleCtx.Done():
				return
			case <-t.C:
				c := e.readCounters(sampleCtx)
				mu.Lock()
				samples = append(samples, c)
				mu.Unlock()
			}
		}
	}()
	e.Log.Info("throughput: load", "mode", mode, "for", e.Settings.Throughput)
	var profiled sync.WaitGroup
	if e.profile != "" {
		profiled.Add(1)
		go func() {
			defer profiled.Done()
			select {
			case <-time.After(3 * time.Second): // past the simulator's start
			case <-ctx.Done():
				return
			}
			e.profileServices(ctx, "throughput-"+mode, e.Settings.Throughput-5*time.Second)
		}()
	}
	stations := e.Settings.Stations
	if mode == "hj212" {
		stations = e.Settings.HJ212Stations
	}
	load, err := e.simulate(ctx, LoadRun{Mode: mode, Duration: e.Settings.Throughput, Stations: stations})
	profiled.Wait()
	if err != nil {
		return err
	}
	n := float64(load.Readings)
	e.stack.offered.Add(load.Readings)
	// Drain: wait until every reading offered is stored and judged.
	deadline := time.Now().Add(e.Settings.Drain)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		mu.Lock()
		last := samples[len(samples)-1]
		mu.Unlock()
		if last.rows-before.rows >= n && last.judged-before.judged >= n {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	stopSampling()
	mu.Lock()
	defer mu.Unlock()
	rowsDone := doneAt(samples, func(c counters) float64 { return c.rows - before.rows }, n)
	judgedDone := doneAt(samples, func(c counters) float64 { return c.judged - before.judged }, n)
	last := samples[len(samples)-1]
	rate := func(done time.Time, got float64) (float64, bool) {
		if !done.IsZero() {
			return n / done.Sub(load.Started).Seconds(), true
		}
		return got / last.at.Sub(load.Started).Seconds(), false
	}
	rowsRate, rowsOK := rate(rowsDone, last.rows-before.rows)
	judgedRate, judgedOK := rate(judgedDone, last.judged-before.judged)
	label := map[string]string{"kafka": "straight to Kafka", "hj212": "HJ 212 via gateway"}[mode]
	s.Add("e2e."+mode+".offered", label+": readings accepted", load.Rate, "readings/s").Vs(KeyKafkaProduceConsume)
	s.Add("e2e."+mode+".rows", label+": → rows in ClickHouse", rowsRate, "readings/s").Vs(KeyKafkaProduceConsume)
	s.Add("e2e."+mode+".judged", label+": → judged by the assessor", judgedRate, "readings/s").Vs(KeyKafkaProduceConsume)
	s.Add(fmt.Sprintf(keyE2E, mode), label+": end to end (slower of the two)", min(rowsRate, judgedRate), "readings/s").Vs(KeyKafkaProduceConsume)
	s.Note("%s: simulator: %s", mode, load.Line)
	if !rowsOK || !judgedOK {
		s.Note("%s: the pipeline had not caught up %s after the load ended (rows %.0f, judged %.0f of %.0f): rates are what it did until then",
			mode, e.Settings.Drain, last.rows-before.rows, last.judged-before.judged, n)
	}
	during := func(get func(counters) float64) float64 {
		var a, b *counters
		for i := range samples {
			c := &samples[i]
			if c.at.Before(load.Started.Add(5*time.Second)) || c.at.After(load.Ended) {
				continue
			}
			if a == nil {
				a = c
			}
			b = c
		}
		if a == nil || b == a {
			return 0
		}
		return (get(*b) - get(*a)) / b.at.Sub(a.at).Seconds()
	}
	s.Note("%s: steady rates while loading: %.0f rows/s into ClickHouse, %.0f readings/s judged", mode,
		during(func(c counters) float64 { return c.rows }), during(func(c counters) float64 { return c.judged }))
	// CPU per reading: what each service costs, a figure that changes little with what
	// else runs on the machine (unlike rates).
	var total float64
	for _, name := range serviceOrder {
		b, ok1 := before.cpu[name]
		l, ok2 := last.cpu[name]
		if !ok1 || !ok2 || n == 0 {
			continue
		}
		us := (l - b) / n * 1e6
		total += us
		if name == "gateway" && mode != "hj212" {
			continue
		}
		s.Add("e2e."+mode+".cpu."+name, label+": "+name+" CPU per reading", us, "µs")
	}
	if total > 0 {
		s.Add("e2e."+mode+".cpu.total", label+": all services' CPU per reading", total, "µs")
	}
	if load.CPU > 0 && n > 0 {
		s.Add("e2e."+mode+".cpu.simulator", label+": load generator (simulator) CPU per reading", load.CPU.Seconds()/n*1e6, "µs")
	}
	servers := 0.0
	for _, srv := range []string{"kafka", "clickhouse"} {
		b, ok1 := before.cpu[srv]
		l, ok2 := last.cpu[srv]
		if ok1 && ok2 && n > 0 {
			us := (l - b) / n * 1e6
			servers += us
			s.Add("e2e."+mode+".cpu."+srv, label+": "+srv+" server CPU per reading (shared)", us, "µs")
		}
	}
	cpuCeilings(s, mode, label, float64(runtime.NumCPU()), total, load.CPU.Seconds()/max(n, 1)*1e6, servers)
	if b := last.archBatches - before.archBatches; b > 0 {
		s.Note("%s: archiver: %.0f readings batches of %.0f rows on average, %.1f s in INSERTs and %.1f s rebuilding rollups (%.0f ms and %.0f ms a batch)",
			mode, b, (last.rows-before.rows)/b, last.archInsert-before.archInsert, last.archRollup-before.archRollup,
			1000*(last.archInsert-before.archInsert)/b, 1000*(last.archRollup-before.archRollup)/b)
	}
	assessorNote(s, mode, before, last)
	return nil
}

// cpuCeilings adds what the machine's cores allow, from the CPU per reading just
// measured: the rate at which every process's CPU together fills the cores (the measured
// rate comes close to it when the run is CPU-bound, as on 2 cores), and the rate the load
// generator, Kafka and ClickHouse alone would allow if riverwatch's services cost nothing.
// A goal above the second cannot be met on this machine by any change to the services.
func cpuCeilings(s *Step, mode, label string, cores, services, loadGen, servers float64) {
	if services <= 0 || loadGen <= 0 || servers <= 0 {
		return
	}
	s.Add("e2e."+mode+".cpu_bound", label+": the cores ÷ every process's CPU per reading", cores/(services+loadGen+servers)*1e6, "readings/s").
		Vs(KeyKafkaProduceConsume)
	s.Add("e2e."+mode+".ceiling", label+": the cores ÷ load generator, Kafka and ClickHouse CPU per reading (services free)", cores/(loadGen+servers)*1e6, "readings/s").
		Vs(KeyKafkaProduceConsume)
	s.Note("%s: per reading the load generator spent %.1f µs, Kafka and ClickHouse %.1f µs, riverwatch's services %.1f µs; %.0f cores", mode, loadGen, servers, services, cores)
}

// assessorNote says how the assessor's batches went between two samples: their number
// and size, their time from fetch to commit, and its synchronous publishes.
func assessorNote(s *Step, what string, a, b counters) {
	n := b.assBatches - a.assBatches
	if n <= 0 {
		return
	}
	per := func(sec, cnt float64) float64 {
		if cnt <= 0 {
			return 0
		}
		return 1000 * sec / cnt
	}
	s.Note("%s: assessor: %.0f batches (%.0f/s) of %.0f readings on average, %.0f ms each from fetch to commit; %.0f events publishes of %.1f ms, %.0f state publishes of %.1f ms on average",
		what, n, n/b.at.Sub(a.at).Seconds(), (b.judged-a.judged)/n, per(b.assSeconds-a.assSeconds, n),
		b.evPub-a.evPub, per(b.evPubSec-a.evPubSec, b.evPub-a.evPub), b.stPub-a.stPub, per(b.stPubSec-a.stPubSec, b.stPub-a.stPub))
}

// doneAt returns the time of the first sample at which get reached n (zero if never).
func doneAt(samples []counters, get func(counters) float64, n float64) time.Time {
	for _, c := range samples {
		if get(c) >= n {
			return c.at
		}
	}
	return time.Time{}
}
