package simulate

import (
	"math"
	"time"

	"github.com/riverwatch/riverwatch/pkg/network"
)

// World is the simulated river during a scenario: the undisturbed signals of the Model with
// the scenario's timeline laid over them. Values are pure functions of (site, parameter,
// time), so the World is safe for concurrent use.
type World struct {
	net   *network.Network
	model *Model
	sc    *Scenario
	start time.Time // simulated time at which the scenario begins
	// effects lists, per site, the spills that reach it.
	effects map[string][]spillEffect
}

// spillEffect is one spill as seen from one site: at the outfall itself (plume nil) or
// downstream.
type spillEffect struct {
	h       Happening
	outfall *network.Site
	plume   *Plume
	// riverFlowM3S is the mean flow the spill mixes into; the season scales it.
	riverFlowM3S float64
	// dilution, for a tracer: the share of its concentration left at the site (the
	// release's river flow over the site's); 0 for a spill.
	dilution float64
}

// addTracer lays a tracer drill's pulse over the release site and every site downstream.
func (w *World) addTracer(h Happening) {
	origin, ok := w.net.Site(h.Site)
	if !ok {
		return
	}
	w.effects[origin.ID] = append(w.effects[origin.ID], spillEffect{h: h, outfall: origin, dilution: 1})
	river, _ := w.net.River(origin.River)
	for _, rc := range w.net.Downstream(origin.ID) {
		velocity := river.VelocityMPS
		if rc.Travel > 0 {
			velocity = rc.DistanceKm * 1000 / rc.Travel.Seconds()
		}
		dilution := 1.0
		if rc.DilutionFlowM3S > river.FlowM3S && river.FlowM3S > 0 {
			dilution = river.FlowM3S / rc.DilutionFlowM3S
		}
		w.effects[rc.Site.ID] = append(w.effects[rc.Site.ID], spillEffect{
			h: h, outfall: origin, dilution: dilution,
			plume: &Plume{DistanceM: rc.DistanceKm * 1000, VelocityMPS: velocity, DispersionM2S: h.DispersionM2S, Duration: h.Duration},
		})
	}
}

// NewWorld lays the scenario over the model; start is the simulated time at which the
// scenario begins (Clock.SimStart).
func NewWorld(net *network.Network, model *Model, sc *Scenario, start time.Time) *World {
	w := &World{net: net, model: model, sc: sc, start: start, effects: map[string][]spillEffect{}}
	for _, h := range sc.Timeline {
		if h.Kind == KindTracer {
			w.addTracer(h)
		}
		if h.Kind != KindSpill {
			continue
		}
		outfall, ok := net.Site(h.Site)
		if !ok {
			continue
		}
		w.effects[outfall.ID] = append(w.effects[outfall.ID], spillEffect{h: h, outfall: outfall})
		river, _ := net.River(outfall.River)
		for _, rc := range net.Downstream(outfall.ID) {
			velocity := river.VelocityMPS
			if rc.Travel > 0 {
				// The mean velocity over the reach, tributaries included.
				velocity = rc.DistanceKm * 1000 / rc.Travel.Seconds()
			}
			w.effects[rc.Site.ID] = append(w.effects[rc.Site.ID], spillEffect{
				h: h, outfall: outfall, riverFlowM3S: rc.DilutionFlowM3S,
				plume: &Plume{
					DistanceM: rc.DistanceKm * 1000, VelocityMPS: velocity,
					DispersionM2S: h.DispersionM2S, DecayPerS: h.DecayPerDay / 86400,
					Duration: h.Duration,
				},
			})
		}
	}
	return w
}

// Start returns the simulated time at which the scenario begins.
func (w *World) Start() time.Time { return w.start }

// Scenario returns the scenario.
func (w *World) Scenario() *Scenario { return w.sc }

// Model returns the undisturbed signal model.
func (w *World) Model() *Model { return w.model }

// Value returns what a site's instrument reads for a parameter at simulated time t, in the
// parameter's canonical unit: the river's true value, or what a faulty sensor makes of it.
func (w *World) Value(site *network.Site, param string, t time.Time) float64 {
	for _, h := range w.sc.Timeline {
		if h.Site != site.ID || h.Parameter != param || !w.during(h, t) {
			continue
		}
		switch h.Kind {
		case KindStuck:
			// The sensor repeats the last value it read before it stuck, or the one it
			// failed at.
			if h.Value != nil {
				return *h.Value
			}
			return w.truth(site, param, w.start.Add(h.At))
		case KindDrift:
			v := w.truth(site, param, t) + h.PerHour*t.Sub(w.start.Add(h.At)).Hours()
			return math.Max(0, v)
		}
	}
	return w.truth(site, param, t)
}

// truth is the river's (or effluent's) real value: the model plus every spill that reaches
// the site.
func (w *World) truth(site *network.Site, param string, t time.Time) float64 {
	v := w.model.Value(site, param, t)
	for _, e := range w.effects[site.ID] {
		if e.h.Parameter != param {
			continue
		}
		begin := w.start.Add(e.h.At)
		if e.h.Kind == KindTracer {
			// Rhodamine WT is absent from the river: the tracer is all the drill's.
			switch {
			case e.plume == nil:
				v += e.h.Concentration * ramp(t, begin, begin.Add(e.h.Duration), e.h.Rise)
			case t.After(begin):
				v += e.h.Concentration * e.dilution * e.plume.Fraction(t.Sub(begin))
			}
			continue
		}
		if e.plume == nil {
			// The effluent's concentration wavers like any other (an exactly constant value
			// would look like a stuck analyser).
			c := e.h.Concentration * (1 + 0.02*w.model.noise(site.ID, param+"#spill", t))
			v += (c - v) * ramp(t, begin, begin.Add(e.h.Duration), e.h.Rise)
			continue
		}
		since := t.Sub(begin)
		if since <= 0 {
			continue
		}
		usual := w.model.Value(e.outfall, param, begin)
		flow := e.riverFlowM3S * w.model.FlowFactor(t)
		v += Mixed(e.h.Concentration-usual, e.outfall.FlowM3S, flow) * e.plume.Fraction(since)
	}
	return v
}

// Silent reports whether a site's station is cut off at simulated time t, and whether its
// logger keeps what it measures meanwhile to send later.
func (w *World) Silent(site *network.Site, t time.Time) (silent, backfill bool) {
	for _, h := range w.sc.Timeline {
		if h.Kind == KindSilent && h.Site == site.ID && w.during(h, t) {
			return true, h.Backfill
		}
	}
	return false, false
}

func (w *World) during(h Happening, t time.Time) bool {
	begin := w.start.Add(h.At)
	return !t.Before(begin) && t.Before(begin.Add(h.Duration))
}
