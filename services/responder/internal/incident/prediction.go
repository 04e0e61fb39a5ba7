package incident

import (
	"fmt"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/plume"
	"github.com/riverwatch/riverwatch/services/responder/internal/playbook"
)

// keepPrediction keeps an incident's structured predictions current: a prediction.issued
// with a window replaces the one for the same site, parameter and origin (a re-issue is
// newer; the newest comes last); a prediction.cleared removes it.
func keepPrediction(inc *message.Incident, ev message.Event) {
	same := func(p message.Prediction) bool {
		return p.Site == ev.Site && p.Parameter == ev.Parameter && p.Origin == ev.OriginSite
	}
	switch ev.Type {
	case message.EventPredictionIssued:
		if ev.Prediction.IsZero() {
			return
		}
		// A new slice every time: snapshots already handed out keep theirs.
		next := make([]message.Prediction, 0, len(inc.Predictions)+1)
		for _, p := range inc.Predictions {
			if !same(p) {
				next = append(next, p)
			}
		}
		inc.Predictions = append(next, ev.Prediction)
	case message.EventPredictionCleared:
		var next []message.Prediction
		for _, p := range inc.Predictions {
			if !same(p) {
				next = append(next, p)
			}
		}
		inc.Predictions = next
	}
}

// window is the {window} placeholder: the plume's window at the fact's site in words
// (plume.Describe), for messages about that site; elsewhere, or for an event without a
// window, “预计到达<arrival>”.
func window(f *Fact, tg *playbook.Target, arrival string, loc *time.Location) string {
	if !f.Prediction.IsZero() && (tg == nil || tg.Site == nil || tg.Site.ID == f.Site) {
		return plume.Describe(f.Prediction, loc)
	}
	if arrival == "" {
		return ""
	}
	return "预计到达" + arrival
}

// interception is the {interception} placeholder: where the plume can still be stopped
// before the intake (plume.DescribeInterception, the time left counted to now), or why it
// cannot, as a sentence ending in “。”, for messages about the prediction's site; "" for
// any other message and for a fact without a prediction.
func (e *Engine) interception(f *Fact, tg *playbook.Target, now time.Time) string {
	if f.Prediction.IsZero() || (tg != nil && tg.Site != nil && tg.Site.ID != f.Site) {
		return ""
	}
	ic := f.Prediction.Interception
	var river, operator string
	if r, ok := e.net.River(ic.River); ok {
		river = r.Name
	}
	if ic.Jurisdiction != "" {
		operator = e.jurName(ic.Jurisdiction)
		if ic.Role != "" && e.contacts != nil {
			operator += e.contacts.RoleName(ic.Role)
		}
	}
	text := plume.DescribeInterception(f.Prediction, river, operator, now, e.net.Location)
	if text == "" {
		return ""
	}
	return text + "。"
}

// recordVerdict puts a prediction.verified or .refuted on the record of the incident of
// the exceedance the prediction came from: it joins the incident's events and its audit
// trail and makes the incident's verdict (judge), and changes no step, condition or
// recovery clock.
func (e *Engine) recordVerdict(t *tx, ev message.Event) (string, Changes, error) {
	id, ok := e.byEvent[ev.OriginEventID]
	st := e.incidents[id]
	if !ok || st == nil || st.Incident.Status == message.IncidentClosed {
		return OutcomeUnrelated, Changes{}, nil
	}
	t.touch(st)
	e.byEvent[ev.ID] = st.Incident.ID
	st.Incident.EventIDs = append(st.Incident.EventIDs, ev.ID)
	action := "prediction_refuted"
	if ev.Type == message.EventPredictionVerified {
		action = "prediction_verified"
	}
	t.log(st, action, actorResponder, fmt.Sprintf("%s at %s %s: %s", ev.Type, ev.Site, ev.Parameter, ev.Reason), "")
	e.judge(t, st, ev)
	return OutcomeGrouped, t.finish(), nil
}
