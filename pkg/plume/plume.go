// Package plume predicts how a pollution plume travels down the river network: when its
// leading edge arrives at a downstream site, when and how high it peaks, when the water
// falls back, and the band those times can take given what the velocity is not known to
// better than. The model is one-dimensional advection–dispersion with first-order decay,
// solved in closed form for a release of known duration, leg by leg along the river
// (docs/plume.md has the formulas and a worked example).
package plume

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// JobsonLeadingRatio is the leading edge's share of the peak's travel time that Jobson
// (USGS WRIR 96-4013) found over 980 sub-reaches of 90 rivers: the first detectable
// concentration arrives at 89 % of the time the peak takes.
const JobsonLeadingRatio = 0.89

// jobsonSigmaShare is the spread (one standard deviation, in time) implied by that ratio
// when the leading edge is taken at two standard deviations before the front: 2σ = 11 % T.
const jobsonSigmaShare = (1 - JobsonLeadingRatio) / 2

// Leg is a stretch the plume travels with constant parameters.
type Leg struct {
	LengthM     float64 // along the flow
	VelocityMPS float64 // mean velocity of the water
	// DispersionM2S is the longitudinal dispersion coefficient D. 0: the leg spreads the
	// plume by Jobson's leading-edge ratio (σ = 5.5 % of its travel time).
	DispersionM2S float64
	// FlowM3S is the discharge that carries the plume on this leg. Where it is larger than
	// the leg before (a tributary or the main river joined), the plume is diluted in the
	// ratio of the flows; 0 means unknown (no dilution).
	FlowM3S float64
}

// Input is one prediction's question: a release seen at the origin, where does it go.
type Input struct {
	// Concentration is the plume's concentration in the river at the origin, after mixing
	// there (mg/L or the parameter's unit).
	Concentration float64
	// Background is the concentration of the water that joins it on the way.
	Background float64
	// Duration is how long the origin carries the plume. ≤ 0: it is still going on — the
	// plume is a plateau, and when it falls back is not known yet.
	Duration time.Duration
	// DecayPerHour is the first-order decay rate k (1/h) of the pollutant; 0 = conservative.
	DecayPerHour float64
	// VelocityFactor f ≥ 1 bounds the velocity: it lies within v/f … v·f. 0 or 1: no band.
	VelocityFactor float64
	// Legs is the way from the origin to the site, upstream first.
	Legs []Leg
	// DispersionScale multiplies the spread's variance σ² — every leg's D, and the square
	// of the Jobson spread of a leg without one — as a tracer drill re-tuned the reach
	// (docs/plume.md, "Re-tuning"). 0 means 1.
	DispersionScale float64
}

// Window is the predicted passage of the plume at a site. Times are durations after the
// release began at the origin.
type Window struct {
	Travel   time.Duration // advective travel time T = Σ L/v: the front at half height
	Spread   time.Duration // σ, one standard deviation of the plume's passage in time
	Earliest time.Duration // earliest the leading edge can arrive (velocity v·f, Jobson's ratio)
	Leading  time.Duration // expected leading edge: T − 2σ
	Peak     time.Duration // expected peak: T + τ/2 (a lasting release: T + 2σ, the plateau reached)
	Trailing time.Duration // expected fall back: T + τ + 2σ; 0 while the release lasts
	Latest   time.Duration // latest fall back (velocity v/f); 0 while the release lasts

	Dilution    float64 // share of the excess left after the flows that joined on the way
	Decay       float64 // e^(−k·T)
	Attenuation float64 // erf(τ / (2√2·σ)): the peak of a short release spread out
	Plateau     float64 // concentration a lasting release reaches: Cb + (C₀ − Cb)·dilution·decay
	// PeakConcentration is Cb + (C₀ − Cb)·dilution·decay·attenuation.
	PeakConcentration float64
}

// ErrNoPath is returned for a prediction without a leg to travel.
var ErrNoPath = errors.New("plume: no path")

// Compute solves the advection–dispersion of a release along its legs.
//
// A rectangular release of concentration C₀ and duration τ, carried at velocity v and
// spread by dispersion, passes a site as C₀/2·[erf((t−T)/(√2σ)) − erf((t−T−τ)/(√2σ))]
// (the frozen-cloud form of the closed-form ADE solution, valid for large Péclet numbers
// as in rivers): it rises around T, peaks at T + τ/2 with C₀·erf(τ/(2√2σ)), and falls
// around T + τ. Over legs, travel times add, and so do the variances σ² = 2·D·L/v³ of
// legs with a dispersion coefficient; the Jobson spreads of the others add linearly.
func Compute(in Input) (Window, error) {
	if len(in.Legs) == 0 {
		return Window{}, ErrNoPath
	}
	for i, l := range in.Legs {
		if !(l.VelocityMPS > 0) || !(l.LengthM >= 0) || !(l.DispersionM2S >= 0) || math.IsInf(l.LengthM, 0) {
			return Window{}, fmt.Errorf("plume: leg %d: length %g m, velocity %g m/s, dispersion %g m²/s", i+1, l.LengthM, l.VelocityMPS, l.DispersionM2S)
		}
	}
	if math.IsNaN(in.Concentration) || math.IsNaN(in.Background) || in.DecayPerHour < 0 {
		return Window{}, fmt.Errorf("plume: concentration %g, background %g, decay %g/h", in.Concentration, in.Background, in.DecayPerHour)
	}
	f := in.VelocityFactor
	if f < 1 {
		f = 1
	}
	if !(in.DispersionScale >= 0) || math.IsInf(in.DispersionScale, 0) {
		return Window{}, fmt.Errorf("plume: dispersion scale %g", in.DispersionScale)
	}
	ds := 1.0
	if in.DispersionScale > 0 {
		ds = math.Sqrt(in.DispersionScale)
	}
	t, sigma := travel(in.Legs, 1)
	tFast, sigmaFast := travel(in.Legs, f)
	tSlow, sigmaSlow := travel(in.Legs, 1/f)
	sigma, sigmaFast, sigmaSlow = sigma*ds, sigmaFast*ds, sigmaSlow*ds
	tau := in.Duration.Seconds()

	w := Window{
		Travel:   secs(t),
		Spread:   secs(sigma),
		Leading:  secs(math.Max(0, t-2*sigma)),
		Earliest: secs(math.Max(0, math.Min(tFast-2*sigmaFast, JobsonLeadingRatio*tFast))),
	}
	w.Dilution = 1
	for i := 1; i < len(in.Legs); i++ {
		prev, cur := in.Legs[i-1].FlowM3S, in.Legs[i].FlowM3S
		if prev > 0 && cur > prev {
			w.Dilution *= prev / cur
		}
	}
	w.Decay = math.Exp(-in.DecayPerHour * t / 3600)
	w.Attenuation = 1
	if tau > 0 {
		w.Peak = secs(t + tau/2)
		w.Trailing = secs(t + tau + 2*sigma)
		w.Latest = secs(tSlow + tau + 2*sigmaSlow)
		if sigma > 0 {
			w.Attenuation = math.Erf(tau / (2 * math.Sqrt2 * sigma))
		}
	} else {
		w.Peak = secs(t + 2*sigma)
	}
	excess := (in.Concentration - in.Background) * w.Dilution * w.Decay
	w.Plateau = in.Background + excess
	w.PeakConcentration = in.Background + excess*w.Attenuation
	return w, nil
}

// travel returns the advective travel time and the spread, in seconds, with every
// velocity scaled by scale.
func travel(legs []Leg, scale float64) (t, sigma float64) {
	var jobson, variance float64
	for _, l := range legs {
		v := l.VelocityMPS * scale
		ti := l.LengthM / v
		t += ti
		if l.DispersionM2S > 0 {
			variance += 2 * l.DispersionM2S * l.LengthM / (v * v * v)
		} else {
			jobson += jobsonSigmaShare * ti
		}
	}
	return t, math.Sqrt(jobson*jobson + variance)
}

func secs(s float64) time.Duration { return time.Duration(math.Round(s * float64(time.Second))) }
