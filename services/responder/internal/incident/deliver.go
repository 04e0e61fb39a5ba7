package incident

import (
	"errors"
	"fmt"
	"time"

	"github.com/riverwatch/riverwatch/pkg/notify"
)

// Delivery is one attempt to deliver one queued notification.
type Delivery struct {
	IncidentID   string
	Key          string
	Attempt      int
	StepID       string
	Kind         string
	Jurisdiction string
	Role         string
	Name         string
	Channel      string
	Target       string
	Subject      string
	Body         string
	Level        string
	Colour       string
	Drill        bool
}

// StartDeliveries picks up to max due notifications and marks them as being sent, attempt
// number included. The caller must make the returned Changes durable BEFORE delivering:
// that write-ahead record is what lets a restarted responder know that a delivery may have
// happened, and re-deliver it with the same key rather than with a new one or not at all.
func (e *Engine) StartDeliveries(max int) ([]Delivery, Changes) {
	t := e.begin()
	e.applySilences(t) // a silence that began since the last call holds what it matches
	var out []Delivery
	for _, st := range e.sorted() {
		for _, o := range st.Outbox {
			if len(out) >= max {
				break
			}
			if o.Status != statusPending || o.NextAt.After(t.now) {
				continue
			}
			o.Status = statusSending
			o.Attempts++
			t.dirty(st)
			out = append(out, Delivery{
				IncidentID: st.Incident.ID, Key: o.Key, Attempt: o.Attempts, StepID: o.StepID, Kind: o.Kind,
				Jurisdiction: o.Jurisdiction, Role: o.Role, Name: o.Name, Channel: o.Channel, Target: o.Target,
				Subject: o.Subject, Body: o.Body, Level: st.Incident.Level, Colour: st.Incident.Colour, Drill: st.Incident.Drill,
			})
		}
	}
	return out, t.finish()
}

// AbortDeliveries returns deliveries that were never attempted (their write-ahead record
// could not be written) to the queue.
func (e *Engine) AbortDeliveries(ds []Delivery) {
	for _, d := range ds {
		if o := e.outgoing(d.IncidentID, d.Key); o != nil && o.Status == statusSending && o.Attempts == d.Attempt {
			o.Status = statusPending
			o.Attempts--
		}
	}
}

// FinishDelivery records the outcome of an attempt: sent; failed for good (permanent
// error or attempts exhausted); or failed and queued again after a backoff.
func (e *Engine) FinishDelivery(d Delivery, err error, permanent bool) Changes {
	t := e.begin()
	st := e.incidents[d.IncidentID]
	o := e.outgoing(d.IncidentID, d.Key)
	if st == nil || o == nil || o.Status != statusSending || o.Attempts != d.Attempt {
		return Changes{}
	}
	t.dirty(st)
	if err == nil {
		now := t.now
		o.Status, o.SentAt, o.LastError = statusSent, &now, ""
		t.record(st, o, statusSent, "")
		if o.StepID != "" && o.Kind != KindEscalation {
			for i := range st.Incident.Steps {
				if s := &st.Incident.Steps[i]; s.ID == o.StepID && s.NotifiedAt == nil {
					s.NotifiedAt = &now
					t.touch(st)
				}
			}
		}
		return t.finish()
	}
	o.LastError = err.Error()
	t.record(st, o, statusFailed, err.Error())
	// A target that asked to wait (Retry-After, a robot's rate-limit code) or whose rate
	// limit held the message back (nothing sent: not an attempt that used up the budget)
	// is tried again no earlier than it said.
	var ra *notify.RetryAfterError
	throttled := errors.As(err, &ra)
	if permanent || o.Attempts >= e.cfg.MaxAttempts && !(throttled && ra.Held) {
		o.Status = statusFailed
		t.log(st, "notification_failed", actorResponder, fmt.Sprintf("%s to %s/%s/%s via %s after %d attempts: %v", o.Kind, o.Jurisdiction, o.Role, o.Name, o.Channel, o.Attempts, err), "")
		return t.finish()
	}
	o.Status = statusPending
	wait := e.backoff(o.Attempts)
	switch {
	case throttled && ra.Held:
		wait = ra.After // the bucket refills then; the backoff of real failures does not apply
	case throttled:
		wait = max(wait, ra.After)
	}
	o.NextAt = t.now.Add(wait)
	return t.finish()
}

func (e *Engine) backoff(attempt int) time.Duration {
	d := e.cfg.RetryBase
	for i := 1; i < attempt && d < e.cfg.RetryMax; i++ {
		d *= 2
	}
	return min(d, e.cfg.RetryMax)
}

func (e *Engine) outgoing(incidentID, key string) *Outgoing {
	st := e.incidents[incidentID]
	if st == nil {
		return nil
	}
	for _, o := range st.Outbox {
		if o.Key == key {
			return o
		}
	}
	return nil
}

// NextDue returns when the next queued notification falls due (zero when none is queued).
func (e *Engine) NextDue() time.Time {
	var next time.Time
	for _, st := range e.incidents {
		for _, o := range st.Outbox {
			if o.Status == statusPending && (next.IsZero() || o.NextAt.Before(next)) {
				next = o.NextAt
			}
		}
	}
	return next
}

// Pending counts notifications queued or being delivered.
func (e *Engine) Pending() int {
	n := 0
	for _, st := range e.incidents {
		for _, o := range st.Outbox {
			if o.Status == statusPending || o.Status == statusSending {
				n++
			}
		}
	}
	return n
}
