package simulate

import (
	"math"
	"time"
)

// Plume is a spill's effect on one site downstream of the outfall: the excess concentration
// after mixing, carried at the river's velocity, spread by longitudinal dispersion and
// reduced by first-order decay.
type Plume struct {
	// DistanceM from the outfall to the site along the flow.
	DistanceM float64
	// VelocityMPS of the river.
	VelocityMPS float64
	// DispersionM2S is the longitudinal dispersion coefficient (typically 1–50 m²/s in small
	// rivers).
	DispersionM2S float64
	// DecayPerS is the first-order decay rate (ammonia nitrifies at roughly 0.1–0.3 per day).
	DecayPerS float64
	// Duration of the release.
	Duration time.Duration
}

// Travel is the advective travel time from the outfall to the site.
func (p Plume) Travel() time.Duration {
	return time.Duration(p.DistanceM / p.VelocityMPS * float64(time.Second))
}

// Fraction is the share of the mixed excess concentration present at the site a time
// since after the release began: between 0 and 1, equal to the decay factor on the plateau
// of a long release. It is the advection–dispersion solution for a step release switched
// off after Duration:
//
//	F(s) = ½·erfc((x − v·s) / √(4·K·s))       C(x, t) = C₀·(F(t) − F(t − D))·e^(−k·x/v)
func (p Plume) Fraction(since time.Duration) float64 {
	step := func(s float64) float64 {
		if s <= 0 {
			return 0
		}
		k := math.Max(p.DispersionM2S, 1e-6)
		return 0.5 * math.Erfc((p.DistanceM-p.VelocityMPS*s)/math.Sqrt(4*k*s))
	}
	t := since.Seconds()
	f := step(t) - step(t-p.Duration.Seconds())
	return math.Max(0, f) * math.Exp(-p.DecayPerS*p.DistanceM/p.VelocityMPS)
}

// Mixed returns the excess concentration a discharge adds to the river once fully mixed
// (mass balance): the effluent's excess over its usual level, diluted by the river's flow.
func Mixed(effluentExcess, effluentFlow, riverFlow float64) float64 {
	if effluentFlow+riverFlow <= 0 {
		return 0
	}
	return effluentExcess * effluentFlow / (effluentFlow + riverFlow)
}

// ramp rises linearly from 0 to 1 over rise after start, stays at 1 until end, and falls
// back to 0 over rise: an outfall's concentration does not jump instantly.
func ramp(t, start, end time.Time, rise time.Duration) float64 {
	switch {
	case t.Before(start) || !t.Before(end.Add(rise)):
		return 0
	case t.Before(start.Add(rise)):
		return float64(t.Sub(start)) / float64(rise)
	case t.Before(end):
		return 1
	default:
		return 1 - float64(t.Sub(end))/float64(rise)
	}
}
