package plume

import (
	"fmt"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
)

// Outcomes of Assess.
const (
	// OutcomePending: the window has not passed and the plume has not been seen yet.
	OutcomePending = "pending"
	// OutcomeVerified: the plume rose within the band (earliest − slack … latest + slack).
	OutcomeVerified = "verified"
	// OutcomeRefuted: it rose before the band, or the band passed, with readings in it, and
	// it never rose.
	OutcomeRefuted = "refuted"
	// OutcomeNoData: the band passed without a reading in it: nothing to judge by.
	OutcomeNoData = "no_data"
)

// Sample is one valid reading of the predicted parameter at the predicted site.
type Sample struct {
	At    time.Time
	Value float64
}

// Check is what Assess compares a window with.
type Check struct {
	// Threshold: a sample at or above it shows the plume (the site's limit, or the
	// background plus half the predicted excess).
	Threshold float64
	// Slack widens the band on both sides by what the readings cannot resolve: the
	// station's reporting interval.
	Slack time.Duration
	// Now is the observed time the readings have reached (the stream time), not the wall
	// clock: a replay judges as the live stream did.
	Now time.Time
}

// Verdict is the comparison of a window with what arrived.
type Verdict struct {
	Outcome string
	Reason  string
	// Observed passage, zero when not seen: the first sample at or above the threshold,
	// the highest sample from then until the first below it again, and that sample.
	RiseAt time.Time
	PeakAt time.Time
	Peak   float64
	FallAt time.Time
	// Errors, observed − predicted, set when the plume was seen: the rise against the
	// expected leading edge, the peak's time and height, the duration above the threshold
	// against trailing − leading (0 while the fall is not seen or not predicted).
	RiseError     time.Duration
	PeakTimeError time.Duration
	PeakError     float64
	DurationError time.Duration
}

// Passage is what a site has seen of a plume so far, built one sample at a time (Observe)
// so that a stream processor can keep it instead of the samples. The JSON form is for
// the assessor's state.
type Passage struct {
	// RiseAt is the first sample at or above the threshold (at or after the release),
	// PeakAt and Peak the highest from then until FallAt, the first below it again.
	RiseAt time.Time `json:"rise_at,omitzero"`
	PeakAt time.Time `json:"peak_at,omitzero"`
	Peak   float64   `json:"peak,omitempty"`
	FallAt time.Time `json:"fall_at,omitzero"`
	// InBand counts the samples within the band: readings there that never rose refute.
	InBand int `json:"in_band,omitempty"`
}

// band returns the window's band widened by the slack. Without a latest edge (the
// release's end unknown), it ends at peak + (peak − earliest).
func band(p message.Prediction, c Check) (lo, hi time.Time) {
	end := p.Latest
	if end.IsZero() {
		end = p.Peak.Add(p.Peak.Sub(p.Earliest))
	}
	return p.Earliest.Add(-c.Slack), end.Add(c.Slack)
}

// Observe adds one sample, in time order (a sample earlier than the rise that is itself at
// or above the threshold moves the rise back).
func (ps *Passage) Observe(p message.Prediction, s Sample, c Check) {
	lo, hi := band(p, c)
	if !s.At.Before(lo) && !s.At.After(hi) {
		ps.InBand++
	}
	above := s.Value >= c.Threshold && !s.At.Before(p.ReleaseStart)
	switch {
	case above && (ps.RiseAt.IsZero() || s.At.Before(ps.RiseAt)):
		if ps.RiseAt.IsZero() || s.Value > ps.Peak {
			ps.PeakAt, ps.Peak = s.At, s.Value
		}
		ps.RiseAt = s.At
	case ps.RiseAt.IsZero() || !ps.FallAt.IsZero() || s.At.Before(ps.RiseAt):
	case !above:
		ps.FallAt = s.At
	case s.Value > ps.Peak:
		ps.PeakAt, ps.Peak = s.At, s.Value
	}
}

// Assess compares a prediction's window with the samples at its site (in time order or
// not; samples after c.Now are ignored, and so are rises before the release began: the
// caller should not ask about a site that was already above the threshold).
func Assess(p message.Prediction, samples []Sample, c Check) Verdict {
	ordered := make([]Sample, 0, len(samples))
	for _, s := range samples {
		if !s.At.After(c.Now) {
			ordered = append(ordered, s)
		}
	}
	sortSamples(ordered)
	var ps Passage
	for _, s := range ordered {
		ps.Observe(p, s, c)
	}
	return ps.Judge(p, c)
}

// Judge compares the passage seen so far with the window, at c.Now.
func (ps *Passage) Judge(p message.Prediction, c Check) Verdict {
	lo, hi := band(p, c)
	v := Verdict{RiseAt: ps.RiseAt, PeakAt: ps.PeakAt, Peak: ps.Peak, FallAt: ps.FallAt}
	rose := !ps.RiseAt.IsZero()
	if rose {
		v.RiseError = v.RiseAt.Sub(p.Leading)
		v.PeakTimeError = v.PeakAt.Sub(p.Peak)
		v.PeakError = v.Peak - p.PeakConcentration
		if !v.FallAt.IsZero() && !p.Trailing.IsZero() {
			v.DurationError = v.FallAt.Sub(v.RiseAt) - p.Trailing.Sub(p.Leading)
		}
	}
	switch {
	case rose && v.RiseAt.Before(lo):
		v.Outcome = OutcomeRefuted
		v.Reason = fmt.Sprintf("rose %s before the earliest arrival", lo.Sub(v.RiseAt).Round(time.Minute))
	case rose && !v.RiseAt.After(hi):
		v.Outcome = OutcomeVerified
		v.Reason = fmt.Sprintf("rose within the window, %s from the expected leading edge; peak %.3g against %.3g predicted",
			signed(v.RiseError), v.Peak, p.PeakConcentration)
	case rose:
		v.Outcome = OutcomeRefuted
		v.Reason = fmt.Sprintf("rose %s after the latest arrival", v.RiseAt.Sub(hi).Round(time.Minute))
	case !c.Now.After(hi):
		v.Outcome = OutcomePending
		v.Reason = "window still open"
	case ps.InBand == 0:
		v.Outcome = OutcomeNoData
		v.Reason = "no reading within the window"
	default:
		v.Outcome = OutcomeRefuted
		v.Reason = fmt.Sprintf("no reading at or above %.3g within the window (%d readings)", c.Threshold, ps.InBand)
	}
	return v
}

func signed(d time.Duration) string {
	d = d.Round(time.Minute)
	if d >= 0 {
		return "+" + d.String()
	}
	return d.String()
}

// sortSamples orders samples by time (insertion sort: a window holds tens of readings).
func sortSamples(s []Sample) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j].At.Before(s[j-1].At); j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}
