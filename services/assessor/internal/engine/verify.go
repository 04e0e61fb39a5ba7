package engine

import (
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/plume"
)

// Predictions that check themselves (docs/plume.md). Every valid reading of a site and
// parameter that a prediction with a window targets is added to the prediction's
// passage (plume.Passage): the first reading at or above the threshold is the rise. A
// rise within the band (earliest − one reporting interval … latest + one) says
// prediction.verified at once; a rise before or after it, or the band passing in stream
// time with readings in it and no rise, says prediction.refuted. Each prediction is
// judged once. The prediction itself clears as before (predict.go): one cleared before its
// band has passed waits, still watched, in the series' verifying list until it is judged
// or the band passes. A band that passes without a reading says nothing.

// rebuildWatch indexes the predictions by the series they target.
func (e *Engine) rebuildWatch() {
	e.watchDirty = false
	if e.watch == nil {
		e.watch = map[seriesKey][]seriesKey{}
	}
	clear(e.watch)
	for k, s := range e.series {
		if s.foreign {
			continue
		}
		for _, p := range append(s.preds[:len(s.preds):len(s.preds)], s.verifying...) {
			if !p.watching() {
				continue
			}
			d := keyOf(p.site, s.key.param())
			if n := len(e.watch[d]); n == 0 || e.watch[d][n-1] != k {
				e.watch[d] = append(e.watch[d], k)
			}
		}
	}
}

// observe adds a valid reading of d to the predictions that target it and says the
// verdicts it settles.
func (e *Engine) observe(out []message.Event, d *series, obs int64, value float64) []message.Event {
	if e.watchDirty {
		e.rebuildWatch()
	}
	if len(e.watch) == 0 {
		return out
	}
	judged := false
	for _, ok := range e.watch[d.key] {
		o := e.series[ok]
		if o == nil {
			continue
		}
		for i := range len(o.preds) + len(o.verifying) {
			p := o.at(i)
			if p.site != d.key.site() || !p.watching() {
				continue
			}
			c := e.check(p, obs)
			e.markDirty(o)
			if p.tr != nil && !p.tr.fitted {
				p.tr.add(p, c.Slack, obs, value)
			}
			p.seen.Observe(p.win, plume.Sample{At: time.UnixMilli(obs).UTC(), Value: value}, c)
			if p.judged { // a verified tracer window, until its breakthrough has passed
				if p.tr.over(p, c.Slack, obs, value) {
					e.tuneDispersion(o, p)
					judged = true
				}
				continue
			}
			if v := p.seen.Judge(p.win, c); v.Outcome == plume.OutcomeVerified || v.Outcome == plume.OutcomeRefuted {
				out = append(out, e.verdict(o, p, v, c, obs))
				p.judged, judged = true, true
				e.retune(o, p, v)
				if p.tr != nil && v.Outcome != plume.OutcomeVerified {
					p.tr.fitted = true // a refuted breakthrough fits nothing
				}
			}
		}
	}
	if judged {
		e.watchDirty = true
	}
	return out
}

// judgeLate refutes a prediction whose band has passed in stream time without a rise.
func (e *Engine) judgeLate(out []message.Event, s *series, p *prediction) []message.Event {
	if p.judged || p.win.IsZero() {
		return out
	}
	c := e.check(p, e.streamTime)
	switch v := p.seen.Judge(p.win, c); v.Outcome {
	case plume.OutcomeRefuted:
		out = append(out, e.verdict(s, p, v, c, e.streamTime))
		fallthrough
	case plume.OutcomeNoData:
		p.judged, e.watchDirty = true, true
		e.markDirty(s)
		if p.tr != nil {
			p.tr.fitted = true
		}
	}
	return out
}

// check is the comparison's setting: the threshold of the prediction, one reporting
// interval of the site's station as the slack, now the given observed time.
func (e *Engine) check(p *prediction, now int64) plume.Check {
	slack := time.Hour
	if st := e.sites[p.site].site.Station; st != nil && st.IntervalS > 0 {
		slack = time.Duration(st.IntervalS) * time.Second
	}
	return plume.Check{Threshold: p.threshold, Slack: slack, Now: time.UnixMilli(now).UTC()}
}

// verdict builds prediction.verified or prediction.refuted; its id names the prediction,
// so a replay says it with the same id.
func (e *Engine) verdict(s *series, p *prediction, v plume.Verdict, c plume.Check, at int64) message.Event {
	typ := message.EventPredictionRefuted
	if v.Outcome == plume.OutcomeVerified {
		typ = message.EventPredictionVerified
	}
	origin := &e.sites[s.key.site()]
	dinfo := &e.sites[p.site]
	param := e.params[s.key.param()]
	e.m.event(typ)
	reason := v.Reason
	if p.tr != nil {
		reason = "【演练】tracer drill: " + reason // a drill's pulse, never a pollutant
	}
	observed := at
	if !v.RiseAt.IsZero() {
		observed = v.RiseAt.UnixMilli()
	}
	return message.Event{
		ID:             message.EventID(typ, dinfo.site.ID, param, time.UnixMilli(p.first), origin.site.ID),
		Type:           typ,
		Site:           dinfo.site.ID,
		River:          dinfo.site.River,
		Parameter:      param,
		Value:          v.Peak,
		TargetClass:    dinfo.targetName,
		Reason:         reason,
		ObservedAt:     time.UnixMilli(observed).UTC(),
		EmittedAt:      e.clock().UTC(),
		OriginSite:     origin.site.ID,
		OriginEventID:  message.EventID(message.EventExceedanceOpened, origin.site.ID, param, time.UnixMilli(p.origin), ""),
		ArrivalAt:      time.UnixMilli(p.arrival).UTC(),
		PredictedValue: p.win.PeakConcentration,
		DistanceKm:     p.win.DistanceKm,
		Prediction:     p.win,
		Verification: message.Verification{
			Outcome: v.Outcome, Threshold: c.Threshold, RiseAt: v.RiseAt, PeakAt: v.PeakAt, Peak: v.Peak, FallAt: v.FallAt,
			RiseErrorS: v.RiseError.Seconds(), PeakTimeErrorS: v.PeakTimeError.Seconds(), PeakError: v.PeakError,
			DurationErrorS: v.DurationError.Seconds(),
		},
	}
}

// at returns the i-th of a series' predictions followed by its verifying ones.
func (s *series) at(i int) *prediction {
	if i < len(s.preds) {
		return &s.preds[i]
	}
	return &s.verifying[i-len(s.preds)]
}

// retire keeps a cleared prediction whose window is unjudged for verification.
func (e *Engine) retire(s *series, p *prediction) {
	if !p.judged && !p.win.IsZero() {
		s.verifying = append(s.verifying, *p)
		e.watchDirty = true
	}
}

// tickVerifying judges the verifying predictions whose band has passed and forgets the
// judged ones.
func (e *Engine) tickVerifying(out []message.Event, s *series) []message.Event {
	if len(s.verifying) == 0 {
		return out
	}
	kept := s.verifying[:0]
	for i := range s.verifying {
		p := &s.verifying[i]
		out = e.judgeLate(out, s, p)
		if p.judged && p.tr != nil && !p.tr.fitted && e.streamTime > bandEnd(p, e.check(p, e.streamTime).Slack).UnixMilli() {
			e.tuneDispersion(s, p) // the band passed before a tail was seen
			e.watchDirty = true
		}
		if p.watching() {
			kept = append(kept, *p)
		}
	}
	if len(kept) != len(s.verifying) {
		e.markDirty(s)
	}
	s.verifying = kept
	if len(s.verifying) == 0 {
		s.verifying = nil
	}
	return out
}
