package engine

import (
	"math"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/network"
	"github.com/riverwatch/riverwatch/pkg/plume"
	"github.com/riverwatch/riverwatch/pkg/standard"
)

// flowMaxAge is how old, in observed time, a discharge reading may be and still drive the
// velocity of a prediction: older, the river's configured velocity holds.
const flowMaxAge = 6 * time.Hour

// plumeWindow is the plume model's answer for one prediction.
type plumeWindow struct {
	travel     int64 // advective travel time, ms: the front at half height
	spread     int64 // σ, ms, with the reach's dispersion scale
	pred       message.Prediction
	background float64 // the downstream site's latest value the model mixed with
}

// threshold is the level at which a reading shows the plume: half way from the
// background to the predicted peak, or the site's limit when no rise is predicted.
func threshold(w plumeWindow, limit float64) float64 {
	if w.pred.PeakConcentration > w.background {
		return w.background + (w.pred.PeakConcentration-w.background)/2
	}
	return limit
}

// window runs the plume model (pkg/plume, docs/plume.md) for an exceedance of s reaching
// rc: the release began when the exceedance opened and has lasted, as far as is known, up
// to this reading plus one reporting interval of the origin's station (an hourly value
// stands for its hour). c0 is the plume's concentration at the origin and qOut an
// outfall's discharge, added to the river's on every leg; the water the plume mixes with on
// the way carries the downstream site's latest value. ok is false when the model
// cannot solve the reach (no path), and the prediction keeps distance ÷ velocity alone.
// At a drinking-water source the prediction also recommends the emergency space where the
// plume can be intercepted (plume.Intercept).
func (e *Engine) window(s *series, origin *siteInfo, rc network.Reach, di uint16, c0, qOut float64, obs int64, r message.Reading) (plumeWindow, bool) {
	start := s.openedAt
	if start <= 0 || start > obs {
		start = obs
	}
	interval := time.Hour
	if st := origin.site.Station; st != nil && st.IntervalS > 0 {
		interval = time.Duration(st.IntervalS) * time.Second
	}
	return e.windowOf(s, origin, rc, di, c0, qOut, start, time.Duration(obs-start)*time.Millisecond+interval, obs, r)
}

// windowOf runs the plume model for a release that began at start (Unix ms) and lasts
// duration: window's, or a tracer drill's known pulse (tracer.go).
func (e *Engine) windowOf(s *series, origin *siteInfo, rc network.Reach, di uint16, c0, qOut float64, start int64, duration time.Duration, obs int64, r message.Reading) (plumeWindow, bool) {
	legs, confidence := plume.Route(e.net, rc.Path, func(river string, km float64) (float64, float64, bool) {
		return e.liveFlow(river, km, obs)
	})
	scale, verified := e.velocityScale(s.key.site(), di)
	for i := range legs {
		legs[i].FlowM3S += qOut
		legs[i].VelocityMPS *= scale // 1 until verified arrivals re-tuned the reach (tune.go)
	}
	if verified >= tuneHighAfter {
		confidence = plume.ConfidenceHigh
	}
	bg, _, _ := e.latest(di, s.key.param())
	factor := 1.0
	for _, sp := range rc.Path {
		if rv, ok := e.net.River(sp.River); ok {
			factor = math.Max(factor, rv.VelocityFactor())
		}
	}
	in := plume.Input{
		Concentration:  c0,
		Background:     bg,
		Duration:       duration,
		DecayPerHour:   e.opts.DecayPerHour[r.Parameter],
		VelocityFactor: factor,
		Legs:           legs,
		// 1 until a tracer drill re-tuned the reach's spread (tune.go)
		DispersionScale: e.dispersionScale(s.key.site(), di),
	}
	w, err := plume.Compute(in)
	if err != nil {
		return plumeWindow{}, false
	}
	t0 := time.UnixMilli(start).UTC()
	p := message.Prediction{
		Site:              rc.Site.ID,
		Origin:            origin.site.ID,
		Parameter:         r.Parameter,
		ReleaseStart:      t0,
		Earliest:          t0.Add(w.Earliest),
		Leading:           t0.Add(w.Leading),
		Peak:              t0.Add(w.Peak),
		PeakConcentration: w.PeakConcentration,
		Unit:              r.Unit,
		Confidence:        confidence,
		DistanceKm:        rc.DistanceKm,
	}
	if w.Trailing > 0 {
		p.Trailing, p.Latest = t0.Add(w.Trailing), t0.Add(w.Latest)
	}
	if w.Travel > 0 {
		p.VelocityMPS = rc.DistanceKm * 1000 / w.Travel.Seconds()
	}
	if rc.Site.Kind == network.KindDrinkingSource && r.Parameter != tracerParam {
		// Where the plume can still be stopped before the intake, as of this reading
		// (observed time, like every judgement of the engine), on the same legs.
		p.Interception, p.InterceptionNoneReason = plume.Intercept(plume.SpacesOnPath(e.net, rc.Path), in, t0, time.UnixMilli(obs))
	}
	return plumeWindow{travel: w.Travel.Milliseconds(), spread: w.Spread.Milliseconds(), pred: p, background: bg}, true
}

// liveFlow returns the discharge of the nearest section or source on river at or above
// km whose latest flow reading is at most flowMaxAge older than obs, and its km.
func (e *Engine) liveFlow(river string, km float64, obs int64) (float64, float64, bool) {
	fl := standard.Order(flowParam)
	if fl < 0 {
		return 0, 0, false
	}
	var best *network.Site
	var q float64
	for _, st := range e.net.Sites() {
		if st.River != river || st.Kind == network.KindOutfall || st.Km > km || (best != nil && st.Km <= best.Km) {
			continue
		}
		si, ok := e.siteIx[st.ID]
		if !ok {
			continue
		}
		if v, at, ok := e.latest(si, uint16(fl)); ok && v > 0 && at >= obs-flowMaxAge.Milliseconds() {
			best, q = st, v
		}
	}
	if best == nil {
		return 0, 0, false
	}
	return q, best.Km, true
}
