package engine

import (
	"math"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/network"
)

// Tracer drills (docs/plume.md, "Tracer drills"). A drill releases a pulse of a
// conservative tracer (parameter "tracer", rhodamine WT) at an origin site. The tracer
// has no GB 3838 limit: it is never judged, opens no exceedance and issues no event that
// could page anyone; its readings only measure the river. At a site no tracer window
// watches, a reading at or above tracerDetect after one below it starts a release; the
// first reading below again ends it, so the pulse's start, length τ and concentration (the
// highest reading) are known from the origin's own station. At its end the assessor
// predicts the pulse's window at every downstream site as for a pollutant, and watches it
// as a prediction already cleared (verify.go): the rise says prediction.verified or
// .refuted (marked 【演练】) and re-tunes the reach's velocity like any verified arrival.
// Because τ is known, the passage's spread is attributable: the excess readings within
// the band give the breakthrough's temporal variance, σ_obs² = var − τ²/12, and once the
// passage is over it re-tunes the reach's dispersion scale (tuneDispersion).

// tracerParam is the parameter code of a tracer drill's tracer.
const tracerParam = "tracer"

// tracerDetect is the tracer concentration (mg/L: 1 µg/L of rhodamine WT) at or above
// which a reading shows it; a drill's pulse is tens of µg/L in the river.
const tracerDetect = 0.001

// tracerTailShare: the passage is over at the first reading after the fall whose excess is
// at most this share of the peak's.
const tracerTailShare = 0.05

// dispersionBound bounds a reach's dispersion scale to 1/4 … 4 of the configured (or
// Jobson) spread variance: a breakthrough beyond it says something else is wrong.
const dispersionBound = 4.0

// tracerFit is what a tracer window accumulates of its breakthrough.
type tracerFit struct {
	duration   int64   // the release's known length τ, ms
	spread     int64   // σ the window predicted, ms
	background float64 // the site's value the window mixed with
	// m0, m1, m2: Σc, Σc·t, Σc·t² of the excess c over the background of the readings in
	// the band, t in seconds after the release began.
	m0, m1, m2 float64
	fitted     bool // the dispersion was re-tuned from it, or nothing can be
}

// TracerState is an exported tracerFit.
type TracerState struct {
	Duration   int64   `json:"duration"`
	Spread     int64   `json:"spread"`
	Background float64 `json:"background,omitempty"`
	M0         float64 `json:"m0,omitempty"`
	M1         float64 `json:"m1,omitempty"`
	M2         float64 `json:"m2,omitempty"`
	Fitted     bool    `json:"fitted,omitempty"`
}

func (t *tracerFit) export() *TracerState {
	if t == nil {
		return nil
	}
	return &TracerState{Duration: t.duration, Spread: t.spread, Background: t.background, M0: t.m0, M1: t.m1, M2: t.m2, Fitted: t.fitted}
}

func (t *TracerState) restore() *tracerFit {
	if t == nil {
		return nil
	}
	return &tracerFit{duration: t.Duration, spread: t.Spread, background: t.Background, m0: t.M0, m1: t.M1, m2: t.M2, fitted: t.Fitted}
}

// watching reports whether p still wants its site's readings: unjudged, or a tracer's
// breakthrough not yet fitted.
func (p *prediction) watching() bool {
	return !p.win.IsZero() && (!p.judged || (p.tr != nil && !p.tr.fitted))
}

// tracerReading handles a valid tracer reading of s: the windows it passes, then the
// release at s it starts, carries or ends.
func (e *Engine) tracerReading(out []message.Event, s *series, r message.Reading, obs int64) []message.Event {
	prev, had := s.lastValue, s.lastGood != 0
	s.pushRing(r.Value)
	s.lastGood, s.lastValue, s.lastMeets = obs, r.Value, true
	e.markDirty(s)
	e.m.outcome(OutcomeNotApplicable)
	out = e.observe(out, s, obs, r.Value)
	// openedAt and reported hold the release under way (the series has no exceedance).
	switch {
	case s.openedAt > 0 && r.Value < tracerDetect:
		e.tracerReleased(s, r, obs)
		s.openedAt, s.reported = 0, 0
	case s.openedAt > 0:
		s.reported = math.Max(s.reported, r.Value)
	case r.Value >= tracerDetect && (!had || prev < tracerDetect) && !e.watched(s.key):
		s.openedAt, s.reported = obs, r.Value
	}
	return out
}

// watched reports whether a window watches the series: a tracer seen there is passing,
// not released.
func (e *Engine) watched(k seriesKey) bool {
	if e.watchDirty {
		e.rebuildWatch()
	}
	return len(e.watch[k]) > 0
}

// tracerReleased predicts the window of a release of s that ended at obs at every
// downstream site whose station can see it.
func (e *Engine) tracerReleased(s *series, r message.Reading, obs int64) {
	oi := s.key.site()
	origin := &e.sites[oi]
	start := s.openedAt
	if start <= 0 || start >= obs {
		return
	}
	dur := time.Duration(obs-start) * time.Millisecond
	for _, rc := range e.net.Downstream(origin.site.ID) {
		if rc.Site.Kind == network.KindOutfall {
			continue
		}
		di, ok := e.siteIx[rc.Site.ID]
		if !ok {
			continue
		}
		w, ok := e.windowOf(s, origin, rc, di, s.reported, 0, start, dur, obs, r)
		if !ok || w.pred.PeakConcentration-w.background < tracerDetect {
			continue // too diluted to be seen there
		}
		s.verifying = append(s.verifying, prediction{
			site: di, travel: w.travel, arrival: start + w.travel, first: obs, origin: start,
			value: w.pred.PeakConcentration, win: w.pred, threshold: threshold(w, 0),
			tr: &tracerFit{duration: dur.Milliseconds(), spread: w.spread, background: w.background},
		})
		e.watchDirty = true
	}
	e.markDirty(s)
}

// add accumulates a reading of the site into the breakthrough's moments, if it lies in
// the band.
func (t *tracerFit) add(p *prediction, c time.Duration, obs int64, value float64) {
	at := time.UnixMilli(obs)
	if at.Before(p.win.Earliest.Add(-c)) || at.After(bandEnd(p, c)) {
		return
	}
	x := value - t.background
	if x <= 0 {
		return
	}
	ts := at.Sub(p.win.ReleaseStart).Seconds()
	t.m0 += x
	t.m1 += x * ts
	t.m2 += x * ts * ts
}

// over reports whether the breakthrough has passed with this reading: a tail after the
// fall, or the band's end.
func (t *tracerFit) over(p *prediction, c time.Duration, obs int64, value float64) bool {
	if time.UnixMilli(obs).After(bandEnd(p, c)) {
		return true
	}
	return !p.seen.FallAt.IsZero() && obs >= p.seen.FallAt.UnixMilli() &&
		value-t.background <= tracerTailShare*(p.seen.Peak-t.background)
}

// bandEnd is the band's high edge widened by the slack, as plume.Passage takes it.
func bandEnd(p *prediction, slack time.Duration) time.Time {
	end := p.win.Latest
	if end.IsZero() {
		end = p.win.Peak.Add(p.win.Peak.Sub(p.win.Earliest))
	}
	return end.Add(slack)
}

// observedSpread2 is the breakthrough's σ², s², from its moments: the temporal variance
// less the release's own, τ²/12 (a rectangle's). ok is false without a breakthrough or
// when the release's length accounts for all of it.
func (t *tracerFit) observedSpread2() (float64, bool) {
	if !(t.m0 > 0) {
		return 0, false
	}
	mean := t.m1 / t.m0
	tau := float64(t.duration) / 1000
	s2 := t.m2/t.m0 - mean*mean - tau*tau/12
	return s2, s2 > 0 && !math.IsInf(s2, 0)
}

// fitDispersion moves a dispersion scale d, fitted from n breakthroughs, toward the one
// that would have predicted the observed spread: d · (σ_obs/σ_pred)^(2w), w = 1/(n + 2)
// but at least tuneMinWeight, within 1/dispersionBound … dispersionBound.
func fitDispersion(d float64, n int, sigmaObs2, sigmaPred float64) float64 {
	w := math.Max(tuneMinWeight, 1/float64(n+2))
	d *= math.Pow(sigmaObs2/(sigmaPred*sigmaPred), w)
	return math.Min(dispersionBound, math.Max(1/dispersionBound, d))
}

// tuneDispersion re-tunes the reach of p, a verified tracer window of origin series s,
// from its breakthrough, once.
func (e *Engine) tuneDispersion(s *series, p *prediction) {
	tr := p.tr
	tr.fitted = true
	e.markDirty(s)
	s2, ok := tr.observedSpread2()
	if !ok || tr.spread <= 0 {
		return
	}
	k := reachKey{s.key.site(), p.site}
	t := e.tuneOf(k)
	t.dispersion = fitDispersion(t.dispersion, t.tracers, s2, float64(tr.spread)/1000)
	t.tracers++
	t.partition = s.partition
	e.markTune(k, t)
	e.m.reachDisp.WithLabelValues(e.sites[k[0]].site.ID, e.sites[k[1]].site.ID).Set(t.dispersion)
}
