package simulate

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/riverwatch/riverwatch/pkg/hj212"
	"github.com/riverwatch/riverwatch/pkg/network"
	"github.com/riverwatch/riverwatch/pkg/standard"
)

// decimals is how many decimals a station transmits of each parameter: about what the
// instruments resolve. Noise spans several of these steps, so an honest sensor never draws
// a flat line.
var decimals = map[string]int{
	"temp": 2, "ph": 2, "do": 2, "conductivity": 1, "turbidity": 2, "codmn": 2, "cod": 1,
	"nh3n": 3, "tp": 4, "tn": 2, "flow": 2,
}

// channel is one parameter of one station, ready to encode.
type channel struct {
	param  string
	code   string
	factor float64 // canonical value × factor = transmitted value
	dec    int
}

// channels returns what a station transmits: its parameters that HJ 212-2017 has a code
// for, with the unit conversion to the transmission unit (flow goes as L/s, several metals
// as µg/L).
func channels(params []string) ([]channel, error) {
	var out []channel
	for _, p := range params {
		pol, ok := hj212.CodeFor(hj212.V2017, p)
		if !ok {
			continue
		}
		factor := 1.0
		if pol.Unit != "" {
			one, err := standard.ToCanonical(p, 1, pol.Unit)
			if err != nil {
				return nil, fmt.Errorf("parameter %s in %s: %w", p, pol.Unit, err)
			}
			factor = 1 / one
		}
		dec, ok := decimals[p]
		if !ok {
			dec = 3
		}
		// Values in µg/L or L/s are a thousand times larger: three decimals fewer.
		dec = max(0, dec-int(math.Round(math.Log10(factor))))
		out = append(out, channel{param: p, code: pol.Code, factor: factor, dec: dec})
	}
	return out, nil
}

func round(v float64, dec int) float64 {
	p := math.Pow10(dec)
	return math.Round(v*p) / p
}

// Fleet runs one simulated data logger per station of a scenario.
type Fleet struct {
	World *World
	Clock *Clock
	// Addr is the gateway's HJ 212 address, or several separated by commas (the gateway
	// replicas of a cluster): the stations are spread over them in turn, in network order.
	Addr string
	// Live keeps the stations reporting (at the wall clock's pace) after the scenario's
	// span; otherwise Run returns once the span is over and every upload is acknowledged.
	Live bool
	// AckTimeout, MaxAttempts: see DataLogger.
	AckTimeout  time.Duration
	MaxAttempts int
	// SplitAt is the largest data segment of one packet; longer uploads are split (default
	// 1024 bytes, the limit field loggers observe).
	SplitAt int
	// Drain bounds how long Run waits for the last uploads to be acknowledged (default 60 s).
	Drain time.Duration
	// Drill starts a drill incident when the timeline says so.
	Drill func(ctx context.Context, h Happening) error
	// Out receives one line per happening of the timeline (nil: none).
	Out     io.Writer
	Metrics *Metrics
	Log     *slog.Logger

	loggers []*DataLogger
	sent    atomic.Int64
	outMu   sync.Mutex // one line at a time on Out: the timeline and the stations write
}

// say writes one line of the story to Out (nil: none), stamped with the wall clock and the
// simulated time at.
func (f *Fleet) say(at time.Time, format string, args ...any) {
	if f.Out == nil {
		return
	}
	loc := f.World.model.loc
	f.outMu.Lock()
	defer f.outMu.Unlock()
	fmt.Fprintf(f.Out, "%s │ sim %s │ ▶ %s\n", time.Now().In(loc).Format("15:04:05"), at.In(loc).Format("01-02 15:04"), fmt.Sprintf(format, args...))
}

// Sent returns how many uploads the stations produced.
func (f *Fleet) Sent() int64 { return f.sent.Load() }

// Stats sums the data loggers' counters.
func (f *Fleet) Stats() LoggerStats {
	var s LoggerStats
	for _, l := range f.loggers {
		ls := l.Stats()
		s.Acked += ls.Acked
		s.Resent += ls.Resent
		s.GivenUp += ls.GivenUp
		s.Dropped += ls.Dropped
		s.Pending += ls.Pending
	}
	return s
}

// Run starts the stations and the timeline.
func (f *Fleet) Run(ctx context.Context) error {
	log := f.Log
	if log == nil {
		log = slog.Default()
	}
	sc := f.World.Scenario()
	sites := sc.Stations(f.World.net)
	if len(sites) == 0 {
		return fmt.Errorf("scenario %s: no station to simulate", sc.Name)
	}
	lctx, stopLoggers := context.WithCancel(context.WithoutCancel(ctx))
	defer stopLoggers()
	var lwg, swg sync.WaitGroup
	errc := make(chan error, len(sites)+1)
	for _, site := range sites {
		st, err := f.newStation(site, log)
		if err != nil {
			return err
		}
		f.loggers = append(f.loggers, st.logger)
		lwg.Add(1)
		go func() {
			defer lwg.Done()
			st.logger.Run(lctx)
		}()
		swg.Add(1)
		go func() {
			defer swg.Done()
			if err := st.run(ctx); err != nil {
				errc <- err
			}
		}()
	}
	go func() {
		if err := f.timeline(ctx); err != nil {
			errc <- err
		}
	}()
	stations := make(chan struct{})
	go func() { swg.Wait(); close(stations) }()
	select {
	case <-stations:
	case err := <-errc:
		return err
	}
	if ctx.Err() == nil {
		f.drain(ctx)
	}
	stopLoggers()
	lwg.Wait()
	return nil
}

// drain waits until every upload is acknowledged, or Drain passes.
func (f *Fleet) drain(ctx context.Context) {
	limit := f.Drain
	if limit <= 0 {
		limit = time.Minute
	}
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if f.Stats().Pending == 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// timeline announces each happening when the simulated clock reaches it, and starts
// drills.
func (f *Fleet) timeline(ctx context.Context) error {
	sc := f.World.Scenario()
	hs := slices.Clone(sc.Timeline)
	slices.SortStableFunc(hs, func(a, b Happening) int { return int(a.At - b.At) })
	for _, h := range hs {
		at := f.World.Start().Add(h.At)
		if !f.Clock.SleepUntil(ctx, at) {
			return nil
		}
		f.say(at, "%s", describe(h, f.World.net))
		if h.Kind == KindDrill && f.Drill != nil {
			if err := f.Drill(ctx, h); err != nil {
				return fmt.Errorf("start drill at %s: %w", h.Site, err)
			}
		}
	}
	return nil
}

// describe tells what a happening does, in Chinese and English.
func describe(h Happening, net *network.Network) string {
	site := h.Site
	if s, ok := net.Site(h.Site); ok {
		site = h.Site + " " + s.Name
	}
	p := paramName(h.Parameter)
	switch h.Kind {
	case KindTracer:
		return fmt.Sprintf("示踪 tracer drill at %s: %s %s %s released for %v", site, p, num(h.Concentration), unitOf(h.Parameter), h.Duration)
	case KindSpill:
		return fmt.Sprintf("泄漏 spill begins at %s: %s %s %s in the effluent for %v", site, p, num(h.Concentration), unitOf(h.Parameter), h.Duration)
	case KindStuck:
		if h.Value != nil {
			return fmt.Sprintf("卡值 the %s sensor at %s fails at %s %s for %v", p, site, num(*h.Value), unitOf(h.Parameter), h.Duration)
		}
		return fmt.Sprintf("卡值 the %s sensor at %s sticks for %v", p, site, h.Duration)
	case KindDrift:
		return fmt.Sprintf("漂移 the %s sensor at %s drifts %s %s per hour for %v", p, site, num(h.PerHour), unitOf(h.Parameter), h.Duration)
	case KindSilent:
		keep := "its data are lost"
		if h.Backfill {
			keep = "its logger keeps the data to resend"
		}
		return fmt.Sprintf("中断 %s goes silent for %v; %s", site, h.Duration, keep)
	case KindDrill:
		return fmt.Sprintf("演练 drill: %s at %s", p, site)
	}
	return h.Kind
}

// station is one simulated site: its schedule and its data logger.
type station struct {
	f        *Fleet
	site     *network.Site
	st       string
	channels []channel
	logger   *DataLogger
	qnSeq    int

	// The intervals the host may change (CN 1062, 1064), in simulated time; changed wakes
	// the schedule so that a new interval applies from the command on, not from the next
	// tick of the old one.
	rtdEvery, minEvery atomic.Int64
	changed            chan struct{}
	// rate counts the real-time uploads since the real-time interval last changed (or the
	// start), so that a change tells the rate measured before it (the demo's narration).
	rateMu              sync.Mutex
	rateFirst, rateLast time.Time // the first and the last upload counted
	rateN               int
	vases               atomic.Int64 // samples retained (CN 3015): the bottle number
	// clockOffset is how far the data logger's clock is from the scenario's (ns): a 1012
	// sets it, 1011 and the reports of 3015 and 3020 read the logger's clock. The data's
	// DataTime stays on the scenario's schedule, the timeline the demo tells.
	clockOffset atomic.Int64
	// keys are the station's SM4 keys, the current one first (sites.yaml sm4_keys; a 1014
	// puts the new key first). Guarded by keyMu: the logger reads them on its goroutine.
	keyMu sync.Mutex
	keys  []hj212.SM4Key
}

// loggerNow is the data logger's clock: the scenario's, shifted by the last 1012.
func (s *station) loggerNow() time.Time {
	return s.f.Clock.Now().Add(time.Duration(s.clockOffset.Load()))
}

// sm4Keys returns the station's keys.
func (s *station) sm4Keys() []hj212.SM4Key {
	s.keyMu.Lock()
	defer s.keyMu.Unlock()
	return slices.Clone(s.keys)
}

// gatewayOf is the gateway a station's logger connects to: one of Addr's, by the site's
// place in the network, so that the stations spread evenly and each always uses the same.
func (f *Fleet) gatewayOf(site *network.Site) string {
	addrs := strings.Split(f.Addr, ",")
	i := slices.Index(f.World.net.Sites(), site)
	return strings.TrimSpace(addrs[max(i, 0)%len(addrs)])
}

func (f *Fleet) newStation(site *network.Site, log *slog.Logger) (*station, error) {
	chs, err := channels(f.World.model.Parameters(site))
	if err != nil {
		return nil, fmt.Errorf("station %s: %w", site.ID, err)
	}
	st := hj212.STSurfaceWater
	if site.Kind == network.KindOutfall {
		st = hj212.STWaterPollution
	}
	s := &station{f: f, site: site, st: st, channels: chs, changed: make(chan struct{}, 1), keys: slices.Clone(site.Station.SM4Keys())}
	sc := f.World.Scenario()
	s.rtdEvery.Store(int64(sc.RealtimeInterval))
	s.minEvery.Store(int64(sc.MinuteInterval))
	s.logger = &DataLogger{
		Addr: f.gatewayOf(site), AckTimeout: f.AckTimeout, MaxAttempts: f.MaxAttempts, Metrics: f.Metrics, Execute: s.execute, Keys: s.sm4Keys,
		Log: log.With("site", site.ID, "mn", site.Station.MN),
		Offline: func() bool {
			silent, _ := f.World.Silent(site, f.Clock.Now())
			return silent
		},
	}
	return s, nil
}

// run produces the station's uploads on the simulated schedule: real-time data every
// real-time interval, minute data (outfall monitors) every minute interval, hourly data at
// the top of each hour. The intervals start as the scenario's and change when the host
// sets them (1062, 1064): the next upload is then due one new interval after the last.
func (s *station) run(ctx context.Context) error {
	sc := s.f.World.Scenario()
	clock := s.f.Clock
	start := clock.SimStart
	ceil := func(t time.Time, d time.Duration) time.Time {
		c := t.Truncate(d)
		if c.Before(t) {
			c = c.Add(d)
		}
		return c
	}
	rtdEvery := time.Duration(s.rtdEvery.Load())
	nextRtd := ceil(start, rtdEvery)
	nextHour := ceil(start.Add(time.Nanosecond), time.Hour)
	var nextMin time.Time
	minEvery := time.Duration(s.minEvery.Load())
	minute := minEvery > 0 && s.site.Kind == network.KindOutfall
	if minute {
		nextMin = ceil(start.Add(time.Nanosecond), minEvery)
	}
	for {
		if d := time.Duration(s.rtdEvery.Load()); d != rtdEvery {
			nextRtd, rtdEvery = nextRtd.Add(d-rtdEvery), d
		}
		if d := time.Duration(s.minEvery.Load()); minute && d != minEvery {
			nextMin, minEvery = nextMin.Add(d-minEvery), d
		}
		next := nextRtd
		if sc.Hourly && nextHour.Before(next) {
			next = nextHour
		}
		if minute && nextMin.Before(next) {
			next = nextMin
		}
		if !s.f.Live && next.After(clock.End()) {
			return nil
		}
		woken, live := clock.sleepUntil(ctx, next, s.changed)
		if !live {
			return nil
		}
		if woken {
			continue // an interval changed: reschedule
		}
		silent, backfill := s.f.World.Silent(s.site, next)
		produce := !silent || backfill
		if next.Equal(nextRtd) {
			if produce {
				if err := s.send(hj212.CNRealtime, next, next, 0); err != nil {
					return err
				}
				s.countUpload(next)
			}
			nextRtd = nextRtd.Add(rtdEvery)
		}
		if minute && next.Equal(nextMin) {
			if produce {
				if err := s.send(hj212.CNMinute, next.Add(-minEvery), next, minEvery); err != nil {
					return err
				}
			}
			nextMin = nextMin.Add(minEvery)
		}
		if sc.Hourly && next.Equal(nextHour) {
			// A station that was not running for the whole hour has no hourly mean to give.
			if produce && !next.Add(-time.Hour).Before(start) {
				if err := s.send(hj212.CNHour, next.Add(-time.Hour), next, time.Hour); err != nil {
					return err
				}
			}
			nextHour = nextHour.Add(time.Hour)
		}
	}
}

// execute carries out a host command the data logger received: the reporting intervals
// (1062 in seconds, 1064 in minutes, of simulated time), a retained sample (3015: the
// bottle number and the time, in the report), the clock (1011 reads it, 1012 sets it: the
// logger's clock shifts to the host's time), field-machine information (3020, of the
// logger or of one of its instruments) and a new SM4 key (1014: what follows is encrypted
// with it). Anything else is not supported.
func (s *station) execute(cmd hj212.Packet) (string, error) {
	loc := s.f.World.model.loc
	now := s.loggerNow()
	fields, err := hj212.ParseCP(cmd.CP)
	if err != nil {
		return "", fmt.Errorf("command CP: %w", err)
	}
	setEvery := func(v *atomic.Int64, key string, unit time.Duration, max int) error {
		text, _ := hj212.Lookup(fields, key)
		n, err := strconv.Atoi(text)
		if err != nil || n <= 0 || n > max {
			return fmt.Errorf("%s %q is not 1–%d", key, text, max)
		}
		v.Store(int64(time.Duration(n) * unit))
		select {
		case s.changed <- struct{}{}:
		default:
		}
		return nil
	}
	switch cmd.CN {
	case hj212.CNSetRtdInterval:
		was := time.Duration(s.rtdEvery.Load())
		if err := setEvery(&s.rtdEvery, "RtdInterval", time.Second, 9999); err != nil {
			return "", err
		}
		s.rateChanged(was, time.Duration(s.rtdEvery.Load()))
		return "", nil
	case hj212.CNSetMinInterval:
		return "", setEvery(&s.minEvery, "MinInterval", time.Minute, 60)
	case hj212.CNRetainSample:
		return "DataTime=" + hj212.FormatTime(now, loc) + ";VaseNo=" + strconv.FormatInt(s.vases.Add(1), 10), nil
	case hj212.CNGetTime:
		return "SystemTime=" + hj212.FormatTime(now, loc), nil
	case hj212.CNSetTime:
		text, _ := hj212.Lookup(fields, "SystemTime")
		t, err := hj212.ParseTime(text, loc)
		if err != nil {
			return "", fmt.Errorf("SystemTime %q: %w", text, err)
		}
		s.clockOffset.Store(int64(t.Sub(s.f.Clock.Now().Truncate(time.Second))))
		return "", nil
	case hj212.CNGetInfo:
		return s.info(fields, now, loc)
	case hj212.CNSetKey:
		k, err := hj212.ParseSetKey(cmd.CP)
		if err != nil {
			return "", err
		}
		s.keyMu.Lock()
		s.keys = append([]hj212.SM4Key{k}, s.keys...)
		s.keyMu.Unlock()
		return "", nil
	}
	return "", ErrUnsupportedCommand
}

// rateChanged tells the story of a real-time interval the host changed (1062): the rate
// measured since the last change, in uploads per simulated hour, and the rate from now on
// — 加密监测 raising it after an exceedance, the restore lowering it after the recovery.
func (s *station) rateChanged(was, now time.Duration) {
	at := s.f.Clock.Now()
	s.rateMu.Lock()
	n, first, last := s.rateN, s.rateFirst, s.rateLast
	s.rateN, s.rateFirst, s.rateLast = 0, time.Time{}, time.Time{}
	s.rateMu.Unlock()
	what := "加密监测 reporting rate raised"
	if now > was {
		what = "恢复监测频次 reporting rate restored"
	} else if now == was {
		what = "reporting rate confirmed"
	}
	// The rate of the uploads between the first and the last counted: n−1 gaps.
	measured := "too few uploads to measure a rate"
	if span := last.Sub(first); n >= 2 && span > 0 {
		measured = fmt.Sprintf("%d uploads over %v (%.0f/h)", n, span.Round(time.Minute), float64(n-1)/span.Hours())
	}
	s.f.say(at, "%s at %s %s (host command 1062): real-time data every %v, was %v; %s → %.0f/h from now (simulated time)",
		what, s.site.ID, s.site.Name, now, was, measured, float64(time.Hour)/float64(now))
}

// countUpload counts a real-time upload for rateChanged.
func (s *station) countUpload(at time.Time) {
	s.rateMu.Lock()
	defer s.rateMu.Unlock()
	if s.rateN == 0 {
		s.rateFirst = at
	}
	s.rateLast = at
	s.rateN++
}

// info answers a 3020: the simulated field-machine information InfoId of the instrument
// PolId (one of the station's channels) or of the logger: state codes (i12xxx) are 0,
// normal; parameters (i13xxx) 1; logs (i11xxx) "ok". An instrument the station does not
// have fails (ExeRtn=2).
func (s *station) info(fields []hj212.Field, now time.Time, loc *time.Location) (string, error) {
	pol, _ := hj212.Lookup(fields, "PolId")
	id, _ := hj212.Lookup(fields, "InfoId")
	if !hj212.ValidInfoID(id) {
		return "", fmt.Errorf("InfoId %q is not an information code", id)
	}
	if pol != "" && !slices.ContainsFunc(s.channels, func(c channel) bool { return c.code == pol }) {
		return "", fmt.Errorf("no instrument %s at this station", pol)
	}
	v := "ok"
	switch id[:3] {
	case "i12":
		v = "0"
	case "i13":
		v = "1"
	}
	return hj212.InfoCP(hj212.Info{DataTime: now, Items: []hj212.InfoItem{{PolID: pol, InfoID: id, Value: v}}}, loc), nil
}

// send builds one upload and queues it: real-time values at dataTime, or the minimum,
// mean and maximum over [dataTime, dataTime+period) sampled every simulated minute.
func (s *station) send(cn string, dataTime, sentAt time.Time, period time.Duration) error {
	w := s.f.World
	items := make([]hj212.Item, 0, len(s.channels))
	for _, ch := range s.channels {
		if period == 0 {
			v := round(math.Max(0, w.Value(s.site, ch.param, dataTime))*ch.factor, ch.dec)
			items = append(items, hj212.Rtd(ch.code, v, hj212.DataFlagNormal))
			continue
		}
		lo, hi, sum, n := math.Inf(1), math.Inf(-1), 0.0, 0
		for t := dataTime; t.Before(dataTime.Add(period)); t = t.Add(time.Minute) {
			v := math.Max(0, w.Value(s.site, ch.param, t)) * ch.factor
			lo, hi, sum, n = math.Min(lo, v), math.Max(hi, v), sum+v, n+1
		}
		it := hj212.Period(ch.code, round(lo, ch.dec), round(sum/float64(n), ch.dec), round(hi, ch.dec), hj212.DataFlagNormal)
		if ch.param == "flow" {
			// Cumulative discharge over the period, m³ (the flow is in L/s).
			it.Cou = hj212.Value(round(sum/float64(n)*period.Seconds()/1000, 1))
		}
		items = append(items, it)
	}
	loc := w.model.loc
	cp, err := hj212.DataCP(dataTime, loc, hj212.V2017, items)
	if err != nil {
		return fmt.Errorf("station %s: build CP: %w", s.site.ID, err)
	}
	// QN names the request: the simulated send time, with the milliseconds counting
	// uploads so that two uploads of one instant never share a QN.
	s.qnSeq = (s.qnSeq + 1) % 1000
	qn := hj212.NewQN(sentAt.Truncate(time.Second).Add(time.Duration(s.qnSeq)*time.Millisecond), loc)
	p := hj212.Packet{
		QN: qn, ST: s.st, CN: cn, PW: s.site.Station.Password, MN: s.site.Station.MN,
		Flag: hj212.NewFlag(hj212.V2017, true, false), CP: cp,
	}
	splitAt := s.f.SplitAt
	if splitAt <= 0 {
		splitAt = 1024
	}
	pkts, err := hj212.Split(p, splitAt)
	if err != nil {
		return fmt.Errorf("station %s: split: %w", s.site.ID, err)
	}
	s.f.sent.Add(1)
	if s.f.Metrics != nil {
		s.f.Metrics.Readings.Add(float64(len(items)))
	}
	s.logger.Enqueue(&Upload{Packets: pkts, Readings: len(items)})
	return nil
}
