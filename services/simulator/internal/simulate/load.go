package simulate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/riverwatch/riverwatch/pkg/hj212"
	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/network"
	"github.com/riverwatch/riverwatch/pkg/standard"
	"github.com/riverwatch/riverwatch/pkg/stream"
)

// Load modes.
const (
	// ModeHJ212 sends HJ 212 uploads to the gateway, one connection per station, and counts
	// what the gateway acknowledged.
	ModeHJ212 = "hj212"
	// ModeKafka publishes message.Reading records straight to the readings topic, as the
	// gateway would: a load on everything behind the gateway.
	ModeKafka = "kafka"
)

// loadParams are the parameters a load station reports, in order, with a typical value in
// the canonical unit: the first M are used.
var loadParams = []struct {
	param string
	value float64
}{
	{"temp", 12}, {"ph", 7.8}, {"do", 8.5}, {"conductivity", 420}, {"turbidity", 8},
	{"codmn", 2.5}, {"nh3n", 0.3}, {"tp", 0.06}, {"tn", 0.8}, {"cod", 12}, {"bod5", 2},
	{"fluoride", 0.4}, {"cu", 0.005}, {"zn", 0.02}, {"as", 0.002}, {"hg", 0.00002},
	{"cd", 0.0005}, {"cr6", 0.004}, {"pb", 0.003}, {"se", 0.001}, {"cyanide", 0.002},
	{"phenol", 0.001}, {"petroleum", 0.02}, {"las", 0.05}, {"sulfide", 0.01},
	{"fecal_coliform", 900}, {"sulfate", 80}, {"chloride", 40}, {"nitrate", 1.2},
	{"fe", 0.1}, {"mn", 0.03}, {"ss", 10}, {"toc", 3},
}

// MaxLoadParams is the most parameters a load station can report.
var MaxLoadParams = len(loadParams)

// LoadConfig configures a load run.
type LoadConfig struct {
	Mode     string
	Stations []*network.Site // the stations to play; at least one per concurrent station
	Params   int             // parameters per upload (1..MaxLoadParams)
	// Rate is the target in readings (values) per second over all stations; 0 sends as
	// fast as the pipeline takes them.
	Rate     float64
	Duration time.Duration
	// Addr is the gateway's HJ 212 address (hj212 mode).
	Addr string
	// Window is how many uploads a station may have unanswered (hj212 mode, default 1: a
	// field logger waits for each 9014).
	Window int
	// AckTimeout counts an upload as unanswered after this long (default 10 s).
	AckTimeout time.Duration
	// Kafka and Topic: the cluster and the readings topic (kafka mode); Batch readings per publish
	// (default 1000).
	Kafka   stream.Cluster
	Topic   string
	Batch   int
	Loc     *time.Location
	Metrics *Metrics
}

// LoadResult is what a load run achieved.
type LoadResult struct {
	Mode      string
	Stations  int
	Params    int
	Readings  int64 // values acknowledged (hj212) or published (kafka)
	Uploads   int64 // HJ 212 uploads acknowledged, or Kafka publish calls
	Unacked   int64 // uploads the gateway did not answer in time
	Errors    int64 // connection or publish errors
	Elapsed   time.Duration
	Latencies []time.Duration // sample of ack (hj212) or publish (kafka) latencies
}

// Rate returns the achieved readings per second.
func (r LoadResult) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Readings) / r.Elapsed.Seconds()
}

// Percentile returns the q-quantile (0..1) of the sampled latencies.
func (r LoadResult) Percentile(q float64) time.Duration {
	if len(r.Latencies) == 0 {
		return 0
	}
	s := slices.Clone(r.Latencies)
	slices.Sort(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

// String is the one-line report `simulator load` prints.
func (r LoadResult) String() string {
	what := "ack"
	if r.Mode == ModeKafka {
		what = "publish"
	}
	return fmt.Sprintf("load %s: %d stations × %d parameters for %s: %d readings (%.0f readings/s), %d uploads, %s p50 %s p99 %s, %d unacknowledged, %d errors",
		r.Mode, r.Stations, r.Params, r.Elapsed.Round(time.Millisecond), r.Readings, r.Rate(), r.Uploads,
		what, r.Percentile(0.5).Round(10*time.Microsecond), r.Percentile(0.99).Round(10*time.Microsecond), r.Unacked, r.Errors)
}

// sampler keeps a bounded uniform sample of latencies (reservoir sampling).
type sampler struct {
	mu   sync.Mutex
	n    int64
	keep []time.Duration
	rng  *rand.Rand
}

func (s *sampler) add(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	const size = 100000
	if len(s.keep) < size {
		s.keep = append(s.keep, d)
		return
	}
	if j := s.rng.Int64N(s.n); j < size {
		s.keep[j] = d
	}
}

// pacer spreads sends over time so that the readings sent never run ahead of rate × elapsed.
type pacer struct {
	rate  float64
	start time.Time
	sent  atomic.Int64
}

// take reserves n readings and waits until the rate allows them.
func (p *pacer) take(ctx context.Context, n int) bool {
	total := p.sent.Add(int64(n))
	if p.rate <= 0 {
		return ctx.Err() == nil
	}
	due := p.start.Add(time.Duration(float64(total-int64(n)) / p.rate * float64(time.Second)))
	return sleepCtx(ctx, time.Until(due), nil) && ctx.Err() == nil
}

// Load runs a load and returns what it achieved.
func Load(ctx context.Context, cfg LoadConfig) (LoadResult, error) {
	if cfg.Params < 1 || cfg.Params > MaxLoadParams {
		return LoadResult{}, fmt.Errorf("load: parameters must be 1–%d, not %d", MaxLoadParams, cfg.Params)
	}
	if len(cfg.Stations) == 0 {
		return LoadResult{}, errors.New("load: no station")
	}
	if cfg.Duration <= 0 {
		return LoadResult{}, errors.New("load: duration must be > 0")
	}
	if cfg.Loc == nil {
		cfg.Loc = time.UTC
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	res := LoadResult{Mode: cfg.Mode, Stations: len(cfg.Stations), Params: cfg.Params}
	lat := &sampler{rng: rand.New(rand.NewPCG(1, 2))}
	p := &pacer{rate: cfg.Rate, start: time.Now()}
	var err error
	switch cfg.Mode {
	case ModeHJ212:
		err = loadHJ212(ctx, cfg, p, lat, &res)
	case ModeKafka:
		err = loadKafka(ctx, cfg, p, lat, &res)
	default:
		err = fmt.Errorf("load: mode %q is not hj212 or kafka", cfg.Mode)
	}
	res.Elapsed = time.Since(p.start)
	res.Latencies = lat.keep
	return res, err
}

// observedTimes hands each station consecutive observation times, one second apart,
// starting a day in the past (the gateway refuses the future); after a day's worth they
// wrap around, so a long run also exercises the pipeline's de-duplication.
type observedTimes struct {
	start time.Time
	n     int64
}

func (o *observedTimes) next() time.Time {
	t := o.start.Add(time.Duration(o.n%86400) * time.Second)
	o.n++
	return t
}

func loadValues(params int, seq int64) []float64 {
	out := make([]float64, params)
	for i := range out {
		// A small wobble keeps flat-line detection quiet.
		out[i] = loadParams[i].value * (1 + 0.05*math.Sin(float64(seq)*0.7+float64(i)))
	}
	return out
}

func loadHJ212(ctx context.Context, cfg LoadConfig, p *pacer, lat *sampler, res *LoadResult) error {
	chs, err := channels(paramNames(cfg.Params))
	if err != nil {
		return err
	}
	if len(chs) < cfg.Params {
		return fmt.Errorf("load: only %d of the first %d parameters have an HJ 212 code", len(chs), cfg.Params)
	}
	window := max(1, cfg.Window)
	timeout := cfg.AckTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	var readings, uploads, unacked, errs atomic.Int64
	var wg sync.WaitGroup
	day := time.Now().Add(-24 * time.Hour).Truncate(time.Second)
	for i, site := range cfg.Stations {
		if site.Station == nil {
			return fmt.Errorf("load: site %s has no station", site.ID)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := hj212.STSurfaceWater
			if site.Kind == network.KindOutfall {
				st = hj212.STWaterPollution
			}
			obs := &observedTimes{start: day.Add(time.Duration(i%1000) * time.Millisecond)}
			for ctx.Err() == nil {
				if err := loadConn(ctx, cfg, site, st, chs, window, timeout, obs, p, lat, &readings, &uploads, &unacked); err != nil && ctx.Err() == nil {
					errs.Add(1)
					time.Sleep(100 * time.Millisecond)
				}
			}
		}()
	}
	wg.Wait()
	res.Readings, res.Uploads, res.Unacked, res.Errors = readings.Load(), uploads.Load(), unacked.Load(), errs.Load()
	return nil
}

// loadConn plays one station over one connection until ctx ends or the connection fails:
// a writer sends uploads (at most window unanswered), a reader matches the 9014s by QN.
func loadConn(ctx context.Context, cfg LoadConfig, site *network.Site, st string, chs []channel, window int,
	timeout time.Duration, obs *observedTimes, p *pacer, lat *sampler, readings, uploads, unacked *atomic.Int64) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", cfg.Addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	type inflight struct {
		sent time.Time
		n    int
	}
	var (
		mu      sync.Mutex
		pending = map[string]inflight{}
		slots   = make(chan struct{}, window)
		done    = make(chan error, 1)
	)
	go func() {
		dec := hj212.NewDecoder(conn, hj212.MaxDataLen)
		for {
			f, err := dec.Next()
			if err != nil {
				var fe *hj212.FrameError
				if errors.As(err, &fe) {
					continue
				}
				done <- err
				return
			}
			pkt, err := hj212.ParsePacket(f.Data)
			if err != nil || pkt.CN != hj212.CNDataResponse {
				continue
			}
			mu.Lock()
			in, ok := pending[pkt.QN]
			delete(pending, pkt.QN)
			mu.Unlock()
			if !ok {
				continue // a late answer to an upload already counted as unanswered
			}
			lat.add(time.Since(in.sent))
			readings.Add(int64(in.n))
			uploads.Add(1)
			if cfg.Metrics != nil {
				cfg.Metrics.Readings.Add(float64(in.n))
				cfg.Metrics.Frames.WithLabelValues("acked").Inc()
			}
			<-slots
		}
	}()
	expire := func() {
		mu.Lock()
		defer mu.Unlock()
		for qn, in := range pending {
			if time.Since(in.sent) > timeout {
				delete(pending, qn)
				unacked.Add(1)
				<-slots
			}
		}
	}
	var buf []byte
	items := make([]hj212.Item, len(chs))
	for ctx.Err() == nil {
		select {
		case slots <- struct{}{}:
		case err := <-done:
			return err
		case <-ctx.Done():
			return nil
		case <-time.After(timeout):
			expire()
			continue
		}
		if !p.take(ctx, len(chs)) {
			return nil
		}
		t := obs.next()
		vals := loadValues(len(chs), obs.n)
		for i, ch := range chs {
			items[i] = hj212.Rtd(ch.code, round(vals[i]*ch.factor, ch.dec+1), hj212.DataFlagNormal)
		}
		cp, err := hj212.DataCP(t, cfg.Loc, hj212.V2017, items)
		if err != nil {
			return err
		}
		qn := hj212.NewQN(t, cfg.Loc)
		pkts, err := hj212.Split(hj212.Packet{
			QN: qn, ST: st, CN: hj212.CNRealtime, PW: site.Station.Password, MN: site.Station.MN,
			Flag: hj212.NewFlag(hj212.V2017, true, false), CP: cp,
		}, 1024)
		if err != nil {
			return err
		}
		buf = buf[:0]
		for _, pk := range pkts {
			if buf, err = hj212.AppendEncode(buf, pk); err != nil {
				return err
			}
		}
		mu.Lock()
		pending[qn] = inflight{sent: time.Now(), n: len(chs)}
		mu.Unlock()
		conn.SetWriteDeadline(time.Now().Add(timeout))
		if _, err := conn.Write(buf); err != nil {
			return err
		}
	}
	return nil
}

func paramNames(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = loadParams[i].param
	}
	return out
}

func loadKafka(ctx context.Context, cfg LoadConfig, p *pacer, lat *sampler, res *LoadResult) error {
	if len(cfg.Kafka.Brokers) == 0 || cfg.Topic == "" {
		return errors.New("load: kafka mode needs brokers and the readings topic")
	}
	batch := cfg.Batch
	if batch <= 0 {
		batch = 1000
	}
	params := paramNames(cfg.Params)
	units := make([]string, len(params))
	for i, pm := range params {
		units[i] = standard.CanonicalUnit(pm)
	}
	workers := min(len(cfg.Stations), 8)
	var readings, calls, errs atomic.Int64
	var wg sync.WaitGroup
	day := time.Now().Add(-24 * time.Hour).Truncate(time.Second)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wr := stream.NewWriter(stream.WriterConfig{Cluster: cfg.Kafka, Topic: cfg.Topic, BatchSize: batch}, nil)
			defer wr.Close()
			var mine []*network.Site
			for i := w; i < len(cfg.Stations); i += workers {
				mine = append(mine, cfg.Stations[i])
			}
			obs := make([]observedTimes, len(mine))
			for i := range obs {
				obs[i].start = day
			}
			msgs := make([]kafka.Message, 0, batch+len(params))
			next := 0
			for ctx.Err() == nil {
				msgs = msgs[:0]
				for len(msgs) < batch {
					i := next % len(mine)
					next++
					site := mine[i]
					t := obs[i].next()
					now := time.Now().UTC()
					for j, v := range loadValues(len(params), obs[i].n) {
						r := message.Reading{
							ID: message.ReadingID(site.ID, params[j], message.IntervalRealtime, t), Site: site.ID,
							Parameter: params[j], Value: v, Unit: units[j], Interval: message.IntervalRealtime,
							Flag: message.FlagNormal, ObservedAt: t.UTC(), ReceivedAt: now, Source: message.SourceHJ212,
						}
						if site.Station != nil {
							r.Station = site.Station.MN
						}
						b := message.AppendReadingJSON(nil, &r) // json.Marshal's document, 4× faster
						msgs = append(msgs, kafka.Message{Key: []byte(site.ID), Value: b})
					}
				}
				if !p.take(ctx, len(msgs)) {
					return
				}
				start := time.Now()
				if err := publishRetry(ctx, wr, msgs...); err != nil {
					if ctx.Err() == nil {
						errs.Add(1)
					}
					continue
				}
				lat.add(time.Since(start))
				readings.Add(int64(len(msgs)))
				calls.Add(1)
				if cfg.Metrics != nil {
					cfg.Metrics.Readings.Add(float64(len(msgs)))
				}
			}
		}()
	}
	wg.Wait()
	res.Readings, res.Uploads, res.Errors = readings.Load(), calls.Load(), errs.Load()
	return nil
}

// GenerateSites writes a sites.yaml network with n stations for load runs: rivers of 20
// sections each, every station with its own MN. The gateway authenticates stations against
// its sites file, so a load of more stations than configs/sites.yaml has runs against a
// gateway started with RIVERWATCH_SITES_FILE pointing at this file.
func GenerateSites(w io.Writer, n int) error {
	if n < 1 {
		return errors.New("generate sites: n must be ≥ 1")
	}
	var b strings.Builder
	b.WriteString("# Generated by `simulator sites` for load runs: not a real network.\n")
	b.WriteString("timezone: Asia/Shanghai\njurisdictions:\n  - {id: loadtest, name: 压测}\nrivers:\n")
	rivers := (n + 19) / 20
	for r := range rivers {
		fmt.Fprintf(&b, "  - {id: load%03d, name: 压测河%d, velocity_mps: 1.0, flow_m3s: 5.0}\n", r, r)
	}
	b.WriteString("sites:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - {id: LOAD-%05d, name: 压测站%d, kind: section, river: load%03d, km: %d, jurisdiction: loadtest, target_class: III, station: {mn: \"LD%012d\", password: \"123456\"}}\n",
			i, i, i/20, 1+(i%20)*5, i)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
