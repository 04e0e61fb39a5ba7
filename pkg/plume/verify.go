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

// Assess compares a prediction's window with the samples at its site (in time order or
// not; samples after c.Now are ignored, and so are rises before the release began: the
// caller should not ask about a site that was already above the threshold). Without a
// latest edge (the release's end unknown), the band ends at peak + (peak − earliest).
func Assess(p message.Prediction, samples []Sample, c Check) Verdict {
	lo := p.Earliest.Add(-c.Slack)
	end := p.Latest
	if end.IsZero() {
		end = p.Peak.Add(p.Peak.Sub(p.Earliest))
	}
	hi := end.Add(c.Slack)

	ordered := make([]Sample, 0, len(samples))
	for _, s := range samples {
		if !s.At.After(c.Now) {
			ordered = append(ordered, s)
		}
	}
	sortSamples(ordered)

	var v Verdict
	inBand := 0
	rise := -1
	for i, s := range ordered {
		if !s.At.Before(lo) && !s.At.After(hi) {
			inBand++
		}
		if rise < 0 && s.Value >= c.Threshold && !s.At.Before(p.ReleaseStart) {
			rise = i
		}
	}
	if rise >= 0 {
		v.RiseAt = ordered[rise].At
		v.PeakAt, v.Peak = v.RiseAt, ordered[rise].Value
		for _, s := range ordered[rise:] {
			if s.Value < c.Threshold {
				v.FallAt = s.At
				break
			}
			if s.Value > v.Peak {
				v.PeakAt, v.Peak = s.At, s.Value
			}
		}
		v.RiseError = v.RiseAt.Sub(p.Leading)
		v.PeakTimeError = v.PeakAt.Sub(p.Peak)
		v.PeakError = v.Peak - p.PeakConcentration
		if !v.FallAt.IsZero() && !p.Trailing.IsZero() {
			v.DurationError = v.FallAt.Sub(v.RiseAt) - p.Trailing.Sub(p.Leading)
		}
	}
	switch {
	case rise >= 0 && v.RiseAt.Before(lo):
		v.Outcome = OutcomeRefuted
		v.Reason = fmt.Sprintf("rose %s before the earliest arrival", lo.Sub(v.RiseAt).Round(time.Minute))
	case rise >= 0 && !v.RiseAt.After(hi):
		v.Outcome = OutcomeVerified
		v.Reason = fmt.Sprintf("rose within the window, %s from the expected leading edge; peak %.3g against %.3g predicted",
			signed(v.RiseError), v.Peak, p.PeakConcentration)
	case rise >= 0:
		v.Outcome = OutcomeRefuted
		v.Reason = fmt.Sprintf("rose %s after the latest arrival", v.RiseAt.Sub(hi).Round(time.Minute))
	case !c.Now.After(hi):
		v.Outcome = OutcomePending
		v.Reason = "window still open"
	case inBand == 0:
		v.Outcome = OutcomeNoData
		v.Reason = "no reading within the window"
	default:
		v.Outcome = OutcomeRefuted
		v.Reason = fmt.Sprintf("no reading at or above %.3g within the window (%d readings)", c.Threshold, inBand)
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
