package engine

import (
	"fmt"
	"math"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/network"
	"github.com/riverwatch/riverwatch/pkg/plume"
	"github.com/riverwatch/riverwatch/pkg/standard"
)

// prediction is an issued forecast that an open exceedance reaches a downstream site and
// fails its target there. It lives in the origin series.
type prediction struct {
	site    uint16  // the downstream site
	travel  int64   // travel time from the origin, ms
	arrival int64   // predicted arrival of the last issue, Unix ms
	first   int64   // trigger observed time of the first issue: names the prediction
	origin  int64   // observed time the origin exceedance opened: names its opened event
	value   float64 // predicted concentration of the last issue
	excess  float64 // its excess over the downstream limit
	clearAt int64   // when the clean water arrives after the upstream cleared; 0 while open
	// win is the plume model's window of the last issue (zero when it had none),
	// threshold the level that shows the plume at the site, seen what the site has shown
	// of it, judged whether prediction.verified or .refuted was said (verify.go).
	win       message.Prediction
	threshold float64
	seen      plume.Passage
	judged    bool
	tr        *tracerFit // a tracer drill's window, nil for a pollutant's (tracer.go)
}

// flowParam is the parameter code of a discharge flow reading (m³/s once canonical).
const flowParam = "flow"

// predict issues prediction.issued for every downstream site where the open exceedance of
// s is expected to fail that site's target, and re-issues one that got UpdateRatio times
// worse. Only upper-limit parameters (concentrations) travel: a DO deficit or a pH
// excursion is not carried by mass balance.
func (e *Engine) predict(out []message.Event, s *series, r message.Reading, obs int64, originID string) []message.Event {
	oi := s.key.site()
	origin := &e.sites[oi]
	param := r.Parameter
	if _, kind, ok := standard.ClassLimit(param, standard.ClassIII, origin.target.Body); ok && kind != standard.LimitUpper {
		return out
	}
	if param == "ph" {
		return out
	}
	for _, rc := range e.net.Downstream(origin.site.ID) {
		if rc.Site.Kind == network.KindOutfall {
			continue // an outfall has a discharge permit, not a river target
		}
		di, ok := e.siteIx[rc.Site.ID]
		if !ok {
			continue
		}
		c, c0, qOut, how, ok := e.concentration(origin, oi, s.key.param(), rc, di, r.Value)
		if !ok {
			continue
		}
		dinfo := &e.sites[di]
		dv, ok := e.judge(dinfo, param, c, e.waterTemp(di))
		if !ok || dv.Meets {
			continue
		}
		win, haveWin := e.window(s, origin, rc, di, c0, qOut, obs, r)
		travel := rc.Travel.Milliseconds()
		if haveWin {
			travel = win.travel
		}
		arrival := obs + travel
		p := s.predFor(di)
		if p != nil && p.clearAt == 0 && dv.excess < p.excess*e.opts.UpdateRatio {
			continue // already issued, not enough worse to say it again
		}
		if p == nil {
			s.preds = append(s.preds, prediction{site: di, travel: travel, first: obs, origin: s.openedAt})
			p = &s.preds[len(s.preds)-1]
			e.m.predictions.Inc()
			e.watchDirty = true
		}
		p.travel, p.arrival, p.value, p.excess, p.clearAt = travel, arrival, c, dv.excess, 0
		if haveWin {
			p.win, p.threshold = win.pred, threshold(win, dv.Limit)
		}
		sev := SeverityWarning
		if dv.severe {
			sev = SeveritySevere
		}
		ev := e.judgement(message.EventPredictionIssued, dinfo, r, c, obs, dv, sev, how)
		ev.ID = message.EventID(message.EventPredictionIssued, dinfo.site.ID, param, time.UnixMilli(obs), origin.site.ID)
		ev.OriginSite, ev.OriginEventID = origin.site.ID, originID
		ev.ArrivalAt, ev.PredictedValue, ev.DistanceKm = time.UnixMilli(arrival).UTC(), c, rc.DistanceKm
		if haveWin {
			ev.Prediction = win.pred
		}
		out = append(out, ev)
	}
	return out
}

// concentration predicts the concentration at a downstream site, with a description of
// the arithmetic for the event's reason. The plume is computed in two stages:
//
//  1. At the origin. An outfall's discharge mixes with its river:
//     C₁ = (C_out·f·Q_out + C_up·Q_r)/(Q_out + Q_r), where Q_out is the outfall's latest
//     flow reading (else its sites.yaml flow_m3s), Q_r the river's flow, C_up the latest
//     value at the nearest upstream site (else at the downstream site, else 0). A
//     section's water is carried: C₁ = C·f.
//  2. At a confluence. When the downstream site is on the main river of a tributary, the
//     plume (its river's flow, plus the discharge) mixes with the main river:
//     C₂ = (C₁·Q_p + C_bg·Q_main)/(Q_p + Q_main), Q_main = the reach's dilution flow,
//     C_bg the downstream site's latest value (else 0).
//
// f = e^(−k·t) is the optional first-order decay of the pollutant over the travel time t
// (k per hour from assessor.decay_per_hour). ok is false when an outfall's discharge flow
// is unknown (no flow reading, no flow_m3s): without it there is no mixing to compute.
// c0 is the plume's concentration at the origin after stage 1, before decay: the plume
// model's starting point; qOut is an outfall's discharge, which travels with it (0 for a
// section).
func (e *Engine) concentration(origin *siteInfo, oi uint16, param uint16, rc network.Reach, di uint16, value float64) (c, c0, qOut float64, how string, ok bool) {
	code := e.params[param]
	f := 1.0
	if k := e.opts.DecayPerHour[code]; k > 0 {
		f = math.Exp(-k * rc.Travel.Hours())
	}
	c, c0 = value*f, value
	qp := origin.riverFlow
	how = fmt.Sprintf("carried %.3g km, %v", rc.DistanceKm, rc.Travel.Round(time.Minute))
	if origin.site.Kind == network.KindOutfall {
		qOut = origin.site.FlowM3S
		if fl := standard.Order(flowParam); fl >= 0 {
			if v, _, ok := e.latest(oi, uint16(fl)); ok && v > 0 {
				qOut = v
			}
		}
		if qOut <= 0 {
			return 0, 0, 0, "", false
		}
		cUp, src := e.background(origin, param, di)
		qr := origin.riverFlow
		c = (value*f*qOut + cUp*qr) / (qOut + qr)
		c0 = (value*qOut + cUp*qr) / (qOut + qr)
		qp = qOut + qr
		how = fmt.Sprintf("mixing (C_out %s × Q_out %s + C_up %s [%s] × Q_river %s)/(Q_out + Q_river), %s",
			fmtF(value*f), fmtF(qOut), fmtF(cUp), src, fmtF(qr), how)
	}
	if rc.Site.River != origin.site.River && rc.DilutionFlowM3S > 0 {
		cBg, _, _ := e.latest(di, param)
		qm := rc.DilutionFlowM3S
		how += fmt.Sprintf("; joins %s: (C %s × Q %s + C_bg %s × Q_main %s)/(Q + Q_main)", rc.Site.River, fmtF(c), fmtF(qp), fmtF(cBg), fmtF(qm))
		c = (c*qp + cBg*qm) / (qp + qm)
	}
	if f < 1 {
		how += fmt.Sprintf("; decay e^(−%g/h × %.2f h) = %.3f", e.opts.DecayPerHour[code], rc.Travel.Hours(), f)
	}
	return c, c0, qOut, how, true
}

// background returns the river's own concentration above an outfall: the latest value at
// the nearest upstream site that is not an outfall, else the downstream site's, else 0.
func (e *Engine) background(origin *siteInfo, param uint16, down uint16) (float64, string) {
	for _, up := range e.net.Upstream(origin.site.ID) {
		if up.Site.Kind == network.KindOutfall {
			continue
		}
		if ui, ok := e.siteIx[up.Site.ID]; ok {
			if v, _, ok := e.latest(ui, param); ok {
				return v, up.Site.ID
			}
		}
	}
	if v, _, ok := e.latest(down, param); ok {
		return v, e.sites[down].site.ID
	}
	return 0, "none"
}

// predFor returns the prediction of s for a downstream site.
func (s *series) predFor(site uint16) *prediction {
	for i := range s.preds {
		if s.preds[i].site == site {
			return &s.preds[i]
		}
	}
	return nil
}

// upstreamCleared starts the clearing of an exceedance's predictions: each clears when the
// clean water has travelled to its site, not at once, because the polluted water that left
// before the clearing is still on its way.
func (e *Engine) upstreamCleared(s *series, obs int64) {
	for i := range s.preds {
		s.preds[i].clearAt = obs + s.preds[i].travel
	}
}

// supersede clears what is left of a previous exceedance's predictions when a new one
// opens on the same series.
func (e *Engine) supersede(out []message.Event, s *series, obs int64) []message.Event {
	for i := range s.preds {
		out = append(out, e.predictionCleared(s, &s.preds[i], obs, "superseded by a new exceedance upstream"))
		e.retire(s, &s.preds[i])
	}
	s.preds = s.preds[:0]
	e.watchDirty = true
	return out
}

// tickPredictions clears predictions whose clean water has arrived and predictions the
// downstream readings refuted (a valid, compliant reading observed after arrival +
// PredictionWindow while the downstream site has no exceedance of its own open). Both
// are judged in observed time, never by the wall clock: the clean water has arrived when
// the engine's stream time (or a downstream reading, which may belong to another
// instance's partition) reaches the upstream's clearing time + the travel time. In a
// replay or a backfill, observed times lie far behind the wall clock, and the plume is
// still on its way in the time the readings tell. The price: with no readings at all the
// stream time stands still and a prediction stays until readings resume, the safe side
// for an intake.
func (e *Engine) tickPredictions(out []message.Event) []message.Event {
	window := e.opts.PredictionWindow.Milliseconds()
	for _, s := range e.series {
		if (len(s.preds) == 0 && len(s.verifying) == 0) || s.foreign {
			continue
		}
		out = e.tickVerifying(out, s)
		kept := s.preds[:0]
		for i := range s.preds {
			out = e.judgeLate(out, s, &s.preds[i])
			p := s.preds[i]
			d := e.series[keyOf(p.site, s.key.param())]
			var reason string
			var at int64
			switch {
			case p.clearAt > 0 && e.streamTime >= p.clearAt:
				reason, at = "upstream cleared; clean water arrived", p.clearAt
			case p.clearAt > 0 && d != nil && d.lastGood >= p.clearAt:
				reason, at = "upstream cleared; clean water arrived", p.clearAt
			case d != nil && d.lastGood >= p.arrival+window && d.lastMeets && d.phase != phaseOpen:
				reason, at = fmt.Sprintf("refuted: compliant reading %s after the arrival window", time.UnixMilli(d.lastGood).UTC().Format(time.RFC3339)), d.lastGood
			default:
				kept = append(kept, p)
				continue
			}
			out = append(out, e.predictionCleared(s, &p, at, reason))
			e.retire(s, &p)
		}
		if len(kept) != len(s.preds) {
			e.markDirty(s)
			e.watchDirty = true
		}
		s.preds = kept
		if len(s.preds) == 0 {
			s.preds = nil
		}
	}
	return out
}

// predictionCleared builds prediction.cleared; its id names the prediction (origin,
// downstream site, first issue), so a replay gives the same id whichever rule cleared it.
func (e *Engine) predictionCleared(s *series, p *prediction, at int64, reason string) message.Event {
	origin := &e.sites[s.key.site()]
	dinfo := &e.sites[p.site]
	param := e.params[s.key.param()]
	e.m.predictions.Dec()
	e.m.event(message.EventPredictionCleared)
	return message.Event{
		ID:             message.EventID(message.EventPredictionCleared, dinfo.site.ID, param, time.UnixMilli(p.first), origin.site.ID),
		Type:           message.EventPredictionCleared,
		Site:           dinfo.site.ID,
		River:          dinfo.site.River,
		Parameter:      param,
		Value:          p.value,
		TargetClass:    dinfo.targetName,
		Reason:         reason,
		ObservedAt:     time.UnixMilli(at).UTC(),
		EmittedAt:      e.clock().UTC(),
		OriginSite:     origin.site.ID,
		OriginEventID:  message.EventID(message.EventExceedanceOpened, origin.site.ID, param, time.UnixMilli(p.origin), ""),
		ArrivalAt:      time.UnixMilli(p.arrival).UTC(),
		PredictedValue: p.value,
	}
}
