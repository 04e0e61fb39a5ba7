package engine

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/network"
	"github.com/riverwatch/riverwatch/pkg/standard"
)

// Severity values carried by events.
const (
	SeverityWarning = "warning"
	SeveritySevere  = "severe"
)

// Outcomes of a reading, the label values of riverwatch_assessor_readings_total.
const (
	OutcomeJudged           = "judged"            // judged against the site's target
	OutcomeNotApplicable    = "not_applicable"    // valid, but the target sets no limit (temp, flow, ...)
	OutcomeFlag             = "flag"              // HJ 212 flag other than N and T: not water quality
	OutcomeOverRange        = "over_range"        // flag T: above the instrument's range
	OutcomeImplausible      = "implausible"       // physically impossible value
	OutcomeFlatLine         = "flat_line"         // part of a stuck-sensor run
	OutcomeDuplicate        = "duplicate"         // same observed time as the newest: a resend
	OutcomeReplayed         = "replayed"          // at or before the last applied Kafka offset
	OutcomeLateJudged       = "late"              // out of order, within grace: judged by observed time
	OutcomeLateBeyondGrace  = "late_beyond_grace" // older than grace: history only
	OutcomeDailyAverage     = "daily_average"     // CN 2031 day data: left to period evaluation
	OutcomePeriodSuperseded = "period_superseded" // minute or hour average of a stretch finer data covered
	OutcomeBackfill         = "backfill"          // HJ 212-2025 back-fill (RF=1): stored, evaluated per period, not judged live
	OutcomeUnknownSite      = "unknown_site"
	OutcomeUnknownParameter = "unknown_parameter"
)

// Position is where a reading sits in Kafka. The engine remembers, per series, the last
// position it applied and skips a reading at or before it: after a crash between the
// state publish and the offset commit, or a rebalance, the replayed batch changes nothing.
type Position struct {
	Partition int32
	Offset    int64
}

// NoPosition is the position of a reading that did not come from Kafka (tests, replays
// from files): it is never skipped as a replay.
var NoPosition = Position{Partition: -1, Offset: -1}

// Engine judges readings one at a time and keeps the state of every series (site ×
// parameter) and station. It is pure logic: time comes from the readings and from the
// injected clock, and nothing in it blocks. It is not safe for concurrent use; the
// assessor serialises calls.
type Engine struct {
	opts   Options
	net    *network.Network
	clock  func() time.Time
	m      *Metrics
	sites  []siteInfo
	siteIx map[string]uint16
	params []string // standard.Codes(): the parameter of index i

	series   map[seriesKey]*series
	stations []station // by site index
	dirty    []seriesKey
	dirtySt  []uint16
	keyBuf   []byte // DrainState's scratch for the series records' keys
	nOpen    int    // open exceedances, for the gauge
	// watch maps a downstream series to the origin series whose predictions target it;
	// rebuilt (verify.go) when watchDirty says predictions were added or removed.
	watch      map[seriesKey][]seriesKey
	watchDirty bool
	// tunes are the reaches' velocity calibrations from verified arrivals (tune.go);
	// dirtyTune the ones changed since the last DrainState.
	tunes     map[reachKey]*tune
	dirtyTune []reachKey

	// streamTime is the engine's event time, Unix ms: the newest observed time of the
	// readings it applied, each capped at its reception time (the newest of its stations'
	// newest, see eventTime). Predictions are withdrawn by it, not by the wall clock: a
	// replay or a backfill runs in the past, and its plumes travel in observed time.
	streamTime int64
}

// New builds an engine for a network. clock gives the time for EmittedAt and for nothing
// else: rules run on observed times (and the engine's stream time), and Tick takes the
// wall clock's now for the offline rule. m may be nil.
func New(n *network.Network, opts Options, clock func() time.Time, m *Metrics) (*Engine, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if clock == nil {
		return nil, errors.New("detect: nil clock")
	}
	if m == nil {
		m = NewMetrics(nil)
	}
	e := &Engine{
		opts: opts, net: n, clock: clock, m: m,
		siteIx: map[string]uint16{},
		params: standard.Codes(),
		series: map[seriesKey]*series{},
		tunes:  map[reachKey]*tune{},
	}
	if len(n.Sites()) > math.MaxUint16 {
		return nil, fmt.Errorf("detect: %d sites, at most %d", len(n.Sites()), math.MaxUint16)
	}
	var errs []error
	for i, s := range n.Sites() {
		info, err := buildSite(s, n, opts.OfflineFactor)
		if err != nil {
			errs = append(errs, err)
		}
		e.sites = append(e.sites, info)
		e.siteIx[s.ID] = uint16(i)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	e.stations = make([]station, len(e.sites))
	for i := range e.stations {
		e.stations[i] = station{partition: -1, offset: -1}
	}
	return e, nil
}

// Options returns the options in force, defaults filled in.
func (e *Engine) Options() Options { return e.opts }

// Apply judges one reading that did not come from Kafka. See ApplyAt.
func (e *Engine) Apply(r message.Reading) []message.Event { return e.ApplyAt(r, NoPosition) }

// ApplyAt judges one reading and returns the events it causes, in order: station.online
// first, then quality.suspect, then the exceedance transition, then the predictions it
// triggers. Most readings cause none (nil).
func (e *Engine) ApplyAt(r message.Reading, pos Position) []message.Event {
	si, ok := e.siteIx[r.Site]
	if !ok {
		e.m.outcome(OutcomeUnknownSite)
		return nil
	}
	obs := r.ObservedAt.UnixMilli()
	var out []message.Event
	// Any reading, whatever its flag, proves the station is alive.
	out = e.seen(out, si, r, pos)

	pi := standard.Order(r.Parameter)
	if pi < 0 || pi > math.MaxUint16 {
		e.m.outcome(OutcomeUnknownParameter)
		return out
	}
	key := keyOf(si, uint16(pi))
	s := e.series[key]
	if s == nil {
		s = &series{key: key, partition: -1, offset: -1, lastMeets: true}
		e.series[key] = s
		e.m.series.Set(float64(len(e.series)))
	}
	if s.foreign {
		// A reading for a series restored as context only: its partition is ours now.
		s.foreign = false
		if s.phase == phaseOpen {
			e.nOpen++
		}
	}
	if pos.Partition >= 0 && pos.Partition == s.partition && pos.Offset <= s.offset {
		e.m.outcome(OutcomeReplayed)
		return out
	}
	if pos.Partition >= 0 {
		s.partition, s.offset = pos.Partition, pos.Offset
	}
	e.markDirty(s)

	if r.Backfill {
		// Data the station stored during an outage and sent later (HJ 212-2025 RF=1). It is
		// stored and counted in the period evaluation (pkg/evaluate reads every stored
		// reading), but it is not live water: it opens, updates and clears nothing, pages
		// nobody and leaves the series' clock and quality state alone (docs/protocol.md).
		e.m.outcome(OutcomeBackfill)
		return out
	}
	if r.Interval == message.IntervalDay {
		// Day averages arrive a day after their hours were judged; they feed the period
		// evaluation (pkg/evaluate), not alarms.
		e.m.outcome(OutcomeDailyAverage)
		return out
	}
	if s.superseded(r.Interval, obs) {
		// An average over a stretch the station's finer data already covered: judging it
		// too would judge the same water twice, an hour late (see series.superseded).
		e.m.outcome(OutcomePeriodSuperseded)
		return out
	}
	switch {
	case s.newest != 0 && obs == s.newest:
		e.m.outcome(OutcomeDuplicate)
		return out
	case s.newest != 0 && obs < s.newest:
		return e.late(out, s, r, obs)
	}
	s.newest = obs
	return e.inOrder(out, s, r, obs)
}

// eventTime is the time a reading moves the stream time to (Kafka Streams' "stream time",
// a watermark): its observed time, capped at its reception. A station whose clock runs
// ahead must not carry every plume on with it (the gateway refuses times beyond its clock
// skew, but readings can reach Kafka by other ways). The stream time only moves forward:
// late readings leave it as it is.
func eventTime(r message.Reading) int64 {
	t := r.ObservedAt.UnixMilli()
	if !r.ReceivedAt.IsZero() {
		t = min(t, r.ReceivedAt.UnixMilli())
	}
	return t
}

// StreamTime returns the engine's stream time: the newest observed time of the readings
// it applied (each capped at its reception time), the zero time before any.
func (e *Engine) StreamTime() time.Time {
	if e.streamTime == 0 {
		return time.Time{}
	}
	return time.UnixMilli(e.streamTime).UTC()
}

// inOrder runs the quality rules and then the state machine on a reading newer than every
// reading of its series so far.
func (e *Engine) inOrder(out []message.Event, s *series, r message.Reading, obs int64) []message.Event {
	info := &e.sites[s.key.site()]
	param := r.Parameter

	// 1. HJ 212 data flag: only N is water quality. T (over the instrument's range) is a
	// censored high value and a warning of its own; the others (maintenance, calibration,
	// fault, stopped, set value, communication) are not judged and raise nothing here.
	// The gateway writes the flag normalised; readings written straight to the topic may
	// carry none, which means normal (message.NormalizeFlag).
	if !r.NormalFlag() {
		if r.Flag == "T" {
			e.m.outcome(OutcomeOverRange)
			if s.quality&qOverRange == 0 {
				s.quality |= qOverRange
				out = append(out, e.quality(info, r, "over_range", "HJ 212 flag T: above the instrument's upper range"))
			}
			return out
		}
		e.m.outcome(OutcomeFlag)
		return out
	}
	s.quality &^= qOverRange

	// 2. Physically impossible values. The gateway owns this rule and refuses them (reason
	// range); this is defence in depth for readings written straight to the topic (the
	// simulator's load mode), with the same function so the limits cannot drift.
	if err := standard.Plausible(param, r.Value); err != nil {
		e.m.outcome(OutcomeImplausible)
		if s.quality&qImplausible == 0 {
			s.quality |= qImplausible
			out = append(out, e.quality(info, r, "implausible", err.Error()))
		}
		return out
	}
	s.quality &^= qImplausible
	if param == tracerParam {
		return e.tracerReading(out, s, r, obs) // a drill's tracer: never judged (tracer.go)
	}

	// 3. Flat line: a stuck sensor repeats its last value exactly. Values at or below the
	// Class I limit are exempt: heavy metals and other traces sit at the detection limit
	// for weeks, and that is clean water, not a fault. So are non-detects (BelowDL): an
	// analyser that reports "below 0.25" every hour repeats its limit, not a stuck value.
	if s.lastGood != 0 && r.Value == s.lastValue && !traceLevel(info, param, r.Value) && !r.BelowDL {
		if s.flatN < math.MaxUint16 {
			s.flatN++
		}
	} else {
		s.flatN = 1
		s.quality &^= qFlatLine
	}
	if int(s.flatN) >= e.opts.FlatLineReadings {
		s.lastGood = obs
		e.m.outcome(OutcomeFlatLine)
		if s.quality&qFlatLine == 0 {
			s.quality |= qFlatLine
			out = append(out, e.quality(info, r, "flat_line",
				fmt.Sprintf("%d identical readings of %s", s.flatN, strconv.FormatFloat(r.Value, 'g', -1, 64))))
		}
		return out
	}

	// 4. Jump: far from the recent median. Flagged but still judged: a spill is a jump
	// too, and a missed spill costs more than a flagged alarm.
	jump := false
	if floor := jumpFloor(info, param); floor > 0 && s.ringN >= minJumpHistory {
		med := s.median()
		scale := math.Max(math.Abs(med), floor)
		if math.Abs(r.Value-med) > e.opts.JumpFactor*scale {
			jump = true
			out = append(out, e.quality(info, r, "jump",
				fmt.Sprintf("%s is more than %g × %s from the recent median %s", fmtF(r.Value), e.opts.JumpFactor, fmtF(scale), fmtF(med))))
		}
	}
	s.pushRing(r.Value)
	s.lastGood, s.lastValue = obs, r.Value

	v, ok := e.judge(info, param, r.Value, e.waterTemp(s.key.site()))
	if !ok {
		s.lastMeets = true
		e.m.outcome(OutcomeNotApplicable)
		return out
	}
	e.m.outcome(OutcomeJudged)
	s.lastMeets = v.Meets
	out = e.step(out, s, r, obs, v, jump)
	return e.observe(out, s, obs, r.Value)
}

// step advances the exceedance state machine with a judged, in-order reading.
func (e *Engine) step(out []message.Event, s *series, r message.Reading, obs int64, v verdict, jump bool) []message.Event {
	if v.Meets {
		s.lastOK = obs
	} else {
		s.lastBad = obs
	}
	switch s.phase {
	case phaseNormal, phasePending:
		if v.Meets {
			s.phase, s.runN = phaseNormal, 0
			return out
		}
		if s.phase == phaseNormal {
			s.phase, s.runN, s.runSince = phasePending, 0, obs
		}
		if s.runN < math.MaxUint16 {
			s.runN++
		}
		if reason, ok := e.confirmed(s, obs, v); ok {
			return e.open(out, s, r, obs, v, reason, jump)
		}
	case phaseOpen:
		switch {
		case !v.Meets:
			s.clearN = 0
			return e.worse(out, s, r, obs, v, jump)
		case v.clean:
			if s.clearN == 0 {
				s.clearFrom = obs
			}
			s.clearN++
			if int(s.clearN) >= e.opts.ClearReadings {
				return e.clear(out, s, r, obs, v)
			}
		default:
			// Within the limit but not inside the hysteresis band: neither worse nor
			// clearing, and it breaks a clearing run.
			s.clearN = 0
		}
	}
	return out
}

// confirmed reports whether a pending run opens now, and by which rule.
func (e *Engine) confirmed(s *series, obs int64, v verdict) (string, bool) {
	switch {
	case v.severe:
		return "severe:" + v.why, true
	case int(s.runN) >= e.opts.ConfirmReadings:
		return fmt.Sprintf("confirmed:%d_readings", s.runN), true
	case e.opts.ConfirmDuration > 0 && s.runN > 1 && obs-s.runSince >= e.opts.ConfirmDuration.Milliseconds():
		return "confirmed:sustained_" + (time.Duration(obs-s.runSince) * time.Millisecond).String(), true
	}
	return "", false
}

// late judges an out-of-order reading by its observed time. Within grace it may open
// (severe, or completing a run it belongs to) and it may update an open exceedance, but
// a compliant late reading never counts towards clearing: it says nothing about now.
// Beyond grace it is counted and nothing changes.
func (e *Engine) late(out []message.Event, s *series, r message.Reading, obs int64) []message.Event {
	if s.newest-obs > e.opts.Grace.Milliseconds() {
		s.late++
		e.m.outcome(OutcomeLateBeyondGrace)
		return out
	}
	info := &e.sites[s.key.site()]
	// Late readings get the flag and range rules but raise no quality event: the episode
	// they belong to has passed.
	if !r.NormalFlag() {
		e.m.outcome(OutcomeFlag)
		return out
	}
	if standard.Plausible(r.Parameter, r.Value) != nil {
		e.m.outcome(OutcomeImplausible)
		return out
	}
	v, ok := e.judge(info, r.Parameter, r.Value, e.waterTemp(s.key.site()))
	if !ok {
		e.m.outcome(OutcomeNotApplicable)
		return out
	}
	e.m.outcome(OutcomeLateJudged)
	switch s.phase {
	case phaseNormal:
		if !v.Meets && v.severe {
			s.lastBad = max(s.lastBad, obs)
			return e.open(out, s, r, obs, v, "severe:"+v.why+";late", false)
		}
	case phasePending:
		if v.Meets {
			if obs > s.runSince {
				s.phase, s.runN = phaseNormal, 0 // it breaks the run, by observed time
			}
			return out
		}
		if obs < s.lastOK && !v.severe {
			return out // belongs to an earlier, already refuted run
		}
		s.runN++
		s.runSince = min(s.runSince, obs)
		s.lastBad = max(s.lastBad, obs)
		if reason, ok := e.confirmed(s, s.lastBad, v); ok {
			return e.open(out, s, r, obs, v, reason+";late", false)
		}
	case phaseOpen:
		if v.Meets {
			return out
		}
		if s.clearN > 0 && obs > s.clearFrom {
			s.clearN = 0
		}
		return e.worse(out, s, r, obs, v, false)
	}
	return out
}

// open emits exceedance.opened and the predictions downstream.
func (e *Engine) open(out []message.Event, s *series, r message.Reading, obs int64, v verdict, reason string, jump bool) []message.Event {
	info := &e.sites[s.key.site()]
	out = e.supersede(out, s, obs)
	s.phase, s.runN, s.clearN = phaseOpen, 0, 0
	s.openedAt, s.reported, s.lastClass = obs, v.excess, int8(v.Class)
	s.severity = sevWarning
	sev := SeverityWarning
	if v.severe {
		s.severity, sev = sevSevere, SeveritySevere
	}
	if jump {
		reason += ";suspect:jump"
	}
	e.nOpen++
	e.m.open.Set(float64(e.nOpen))
	ev := e.exceedance(message.EventExceedanceOpened, info, r, obs, v, sev, reason)
	ev.ID = message.EventID(ev.Type, ev.Site, ev.Parameter, time.UnixMilli(obs), "")
	out = append(out, ev)
	return e.predict(out, s, r, obs, ev.ID)
}

// worse emits exceedance.updated when an open exceedance changes class, turns severe, or
// gets UpdateRatio times worse than last reported.
func (e *Engine) worse(out []message.Event, s *series, r message.Reading, obs int64, v verdict, jump bool) []message.Event {
	info := &e.sites[s.key.site()]
	var reason string
	switch {
	case v.severe && s.severity != sevSevere:
		reason = "severe:" + v.why
	case v.Class != 0 && int8(v.Class) != s.lastClass:
		reason = "class:" + standard.Class(s.lastClass).String() + "→" + v.Class.String()
	case v.excess >= s.reported*e.opts.UpdateRatio:
		reason = fmt.Sprintf("worse:%.3g×", v.excess/s.reported)
	default:
		return out
	}
	if jump {
		reason += ";suspect:jump"
	}
	s.reported, s.lastClass = v.excess, int8(v.Class)
	sev := SeverityWarning
	if v.severe || s.severity == sevSevere {
		s.severity, sev = sevSevere, SeveritySevere
	}
	ev := e.exceedance(message.EventExceedanceUpdated, info, r, obs, v, sev, reason)
	ev.ID = message.EventID(ev.Type, ev.Site, ev.Parameter, time.UnixMilli(obs), "")
	ev.OriginEventID = e.openedID(s)
	out = append(out, ev)
	return e.predict(out, s, r, obs, ev.OriginEventID)
}

// clear emits exceedance.cleared and starts the clearing of its predictions.
func (e *Engine) clear(out []message.Event, s *series, r message.Reading, obs int64, v verdict) []message.Event {
	info := &e.sites[s.key.site()]
	sev := SeverityWarning
	if s.severity == sevSevere {
		sev = SeveritySevere
	}
	ev := e.exceedance(message.EventExceedanceCleared, info, r, obs, v, sev,
		fmt.Sprintf("cleared:%d_readings_within_%g×limit", s.clearN, e.opts.ClearRatio))
	ev.ID = message.EventID(ev.Type, ev.Site, ev.Parameter, time.UnixMilli(obs), "")
	ev.OriginEventID = e.openedID(s)
	out = append(out, ev)
	s.phase, s.severity, s.clearN, s.runN = phaseNormal, sevNone, 0, 0
	e.nOpen--
	e.m.open.Set(float64(e.nOpen))
	e.upstreamCleared(s, obs)
	return out
}

// openedID is the id of the exceedance.opened event of the series' open exceedance.
func (e *Engine) openedID(s *series) string {
	return message.EventID(message.EventExceedanceOpened, e.sites[s.key.site()].site.ID,
		e.params[s.key.param()], time.UnixMilli(s.openedAt), "")
}

// exceedance builds an exceedance event from a reading and its verdict.
func (e *Engine) exceedance(typ string, info *siteInfo, r message.Reading, obs int64, v verdict, sev, reason string) message.Event {
	return e.judgement(typ, info, r, r.Value, obs, v, sev, reason)
}

// judgement builds an event that judges value at a site against its target (v): an
// exceedance of the reading r itself, or a prediction that r causes downstream. It counts
// the event; the caller adds the id and what else its type carries.
func (e *Engine) judgement(typ string, info *siteInfo, r message.Reading, value float64, obs int64, v verdict, sev, reason string) message.Event {
	ev := message.Event{
		Type:              typ,
		Site:              info.site.ID,
		River:             info.site.River,
		Parameter:         r.Parameter,
		Value:             value,
		Limit:             v.Limit,
		TargetClass:       info.targetName,
		Multiple:          v.Multiple,
		Severity:          sev,
		Reason:            reason,
		ObservedAt:        time.UnixMilli(obs).UTC(),
		EmittedAt:         e.clock().UTC(),
		ReadingID:         r.ID,
		ReadingReceivedAt: r.ReceivedAt,
	}
	if v.Class != 0 {
		ev.Class = v.Class.String()
	}
	e.m.event(typ)
	return ev
}

// quality builds a quality.suspect event; rule makes the id unique per rule.
func (e *Engine) quality(info *siteInfo, r message.Reading, rule, detail string) message.Event {
	obs := r.ObservedAt
	e.m.event(message.EventQualitySuspect)
	return message.Event{
		ID:                message.EventID(message.EventQualitySuspect, info.site.ID, r.Parameter, obs, rule),
		Type:              message.EventQualitySuspect,
		Site:              info.site.ID,
		River:             info.site.River,
		Parameter:         r.Parameter,
		Value:             r.Value,
		Severity:          SeverityWarning,
		Reason:            rule + ": " + detail,
		ObservedAt:        obs.UTC(),
		EmittedAt:         e.clock().UTC(),
		ReadingID:         r.ID,
		ReadingReceivedAt: r.ReceivedAt,
	}
}

// waterTemp returns the latest valid water temperature at a site, for the GB 18918 NH3-N
// rule (the bracketed limit applies at ≤ 12 °C).
func (e *Engine) waterTemp(site uint16) *float64 {
	ti := standard.Order("temp")
	if ti < 0 {
		return nil
	}
	s := e.series[keyOf(site, uint16(ti))]
	if s == nil || s.lastGood == 0 {
		return nil
	}
	t := s.lastValue
	return &t
}

// latest returns the newest valid value of a parameter at a site.
func (e *Engine) latest(site uint16, param uint16) (float64, int64, bool) {
	s := e.series[keyOf(site, param)]
	if s == nil || s.lastGood == 0 {
		return 0, 0, false
	}
	return s.lastValue, s.lastGood, true
}

// traceLevel reports a value at or below the parameter's Class I limit (an upper limit):
// the level of clean water or of a detection limit, where a flat line is expected.
func traceLevel(info *siteInfo, param string, v float64) bool {
	if v == 0 {
		return true
	}
	body := info.target.Body
	lim, kind, ok := standard.ClassLimit(param, standard.ClassI, body)
	return ok && kind == standard.LimitUpper && v <= lim
}

// jumpFloor is the jump rule's floor: a step is measured against the larger of the recent
// median and the parameter's Class III limit (or its Table 2/3 limit), so that a move from
// 0.001 to 0.05 mg/L, both clean, is no jump. Parameters without such a limit (water
// temperature, conductivity, flow) get 0: no jump rule, as a relative step means nothing
// near their zero.
func jumpFloor(info *siteInfo, param string) float64 {
	if lim, _, ok := standard.ClassLimit(param, standard.ClassIII, info.target.Body); ok {
		return lim
	}
	if lim, ok := standard.DrinkingLimit(param); ok {
		return lim
	}
	return 0
}

// markDirty queues a series for the next state export.
func (e *Engine) markDirty(s *series) {
	if !s.dirty {
		s.dirty = true
		e.dirty = append(e.dirty, s.key)
	}
}

func fmtF(v float64) string { return strconv.FormatFloat(v, 'g', 4, 64) }
