package incident

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/network"
	"github.com/riverwatch/riverwatch/pkg/standard"
)

// Outcomes of HandleCommand, for metrics.
const (
	CommandApplied  = "applied"
	CommandRejected = "rejected"
)

// HandleCommand applies an operator's command once per command id. Every command that
// names an incident leaves a log entry carrying its id — applied or refused with the
// reason — so that the api can tell the operator what happened.
func (e *Engine) HandleCommand(cmd message.Command) (string, Changes) {
	t := e.begin()
	if cmd.ID == "" || cmd.Type == "" {
		return OutcomeInvalid, Changes{}
	}
	if e.cfg.MaxEventAge > 0 && !cmd.At.IsZero() && t.now.Sub(cmd.At) > e.cfg.MaxEventAge {
		return OutcomeStale, Changes{}
	}
	actor := cmd.Actor
	if actor == "" {
		actor = "operator"
	}
	if cmd.Type == message.CommandDrill {
		return e.drill(t, cmd, actor)
	}
	st, ok := e.incidents[cmd.IncidentID]
	if !ok {
		t.extra = append(t.extra, message.IncidentUpdate{Kind: message.UpdateLog, Log: &message.LogEntry{
			ID: hashID("rejected", cmd.ID), IncidentID: cmd.IncidentID, At: t.now, Actor: actor,
			Action: "command_rejected", Detail: fmt.Sprintf("%s: no incident %q", cmd.Type, cmd.IncidentID), CommandID: cmd.ID,
		}})
		return CommandRejected, t.finish()
	}
	if slices.Contains(st.Commands, cmd.ID) {
		return OutcomeDuplicate, Changes{}
	}
	st.Commands = append(st.Commands, cmd.ID)
	reject := func(format string, args ...any) (string, Changes) {
		t.log(st, "command_rejected", actor, cmd.Type+": "+fmt.Sprintf(format, args...), cmd.ID)
		return CommandRejected, t.finish()
	}
	inc := &st.Incident
	now := t.now
	switch cmd.Type {
	case message.CommandAcknowledge:
		if inc.Status != message.IncidentOpen {
			return reject("incident is %s", inc.Status)
		}
		inc.Status = message.IncidentAcknowledged
		inc.AckedAt = &now
		t.log(st, "acknowledged", actor, note("acknowledged "+now.Sub(inc.OpenedAt).Round(time.Second).String()+" after opening", cmd.Note), cmd.ID)
	case message.CommandConfirmReceipt, message.CommandStepDone:
		if inc.Status == message.IncidentClosed {
			return reject("incident is closed")
		}
		i := slices.IndexFunc(inc.Steps, func(s message.Step) bool { return s.ID == cmd.StepID })
		if i < 0 {
			return reject("no step %q", cmd.StepID)
		}
		step := &inc.Steps[i]
		if cmd.Type == message.CommandConfirmReceipt {
			if step.ReceiptAt != nil {
				return reject("receipt of %s already confirmed at %s", step.ID, step.ReceiptAt.Format(time.RFC3339))
			}
			step.ReceiptAt = &now
			t.log(st, "receipt_confirmed", actor, note(step.ID+response(step, now), cmd.Note), cmd.ID)
			break
		}
		if step.DoneAt != nil {
			return reject("step %s already done at %s", step.ID, step.DoneAt.Format(time.RFC3339))
		}
		step.DoneAt = &now
		if step.ReceiptAt == nil {
			step.ReceiptAt = &now
		}
		step.Note = cmd.Note
		t.log(st, "step_done", actor, note(step.ID+response(step, now), cmd.Note), cmd.ID)
	case message.CommandResolve:
		if inc.Status != message.IncidentOpen && inc.Status != message.IncidentAcknowledged {
			return reject("incident is %s", inc.Status)
		}
		e.resolve(t, st, actor, note("resolved by operator", cmd.Note), cmd.ID)
	default:
		return reject("unknown command type")
	}
	return CommandApplied, t.finish()
}

func note(detail, n string) string {
	if n == "" {
		return detail
	}
	return detail + ": " + n
}

// response says how long after its notification a step was answered.
func response(step *message.Step, at time.Time) string {
	if step.NotifiedAt == nil {
		return ""
	}
	return fmt.Sprintf(" (response time %s)", at.Sub(*step.NotifiedAt).Round(time.Second))
}

// drill opens a synthetic incident at a site: a confirmed exceedance of 2.5 times the
// limit of the site's target class, marked as a drill in the incident and in every message.
func (e *Engine) drill(t *tx, cmd message.Command, actor string) (string, Changes) {
	evID := hashID("drill", cmd.ID)
	if _, dup := e.byEvent[evID]; dup {
		return OutcomeDuplicate, Changes{}
	}
	refuse := func(format string, args ...any) (string, Changes) {
		t.extra = append(t.extra, message.IncidentUpdate{Kind: message.UpdateLog, Log: &message.LogEntry{
			ID: hashID("rejected", cmd.ID), At: t.now, Actor: actor, Action: "command_rejected",
			Detail: "drill: " + fmt.Sprintf(format, args...), CommandID: cmd.ID,
		}})
		return CommandRejected, t.finish()
	}
	site, ok := e.net.Site(cmd.Site)
	if !ok {
		return refuse("no site %q", cmd.Site)
	}
	param := cmd.Parameter
	if param == "" {
		param = defaultDrillParm
	}
	limit, ok := drillLimit(site, param)
	if !ok {
		return refuse("parameter %q has no limit at %s", param, site.ID)
	}
	ev := message.Event{
		ID: evID, Type: message.EventExceedanceOpened, Site: site.ID, River: site.River, Parameter: param,
		Value: limit * 2.5, Limit: limit, TargetClass: site.TargetClass, Multiple: 1.5, Severity: "severe",
		Reason: "drill", ObservedAt: t.now, EmittedAt: t.now,
	}
	pb := e.books.Match(&ev, site)
	if pb == nil {
		return refuse("no playbook for an exceedance at a %s", site.Kind)
	}
	st := e.open(t, ev, site, pb, true)
	st.Commands = append(st.Commands, cmd.ID)
	t.log(st, "drill_started", actor, note(fmt.Sprintf("drill at %s, %s %s (×2.5 of the limit)", site.ID, param, num(ev.Value)), cmd.Note), cmd.ID)
	return CommandApplied, t.finish()
}

func drillLimit(site *network.Site, param string) (float64, bool) {
	body := standard.River
	if site.IsLake() {
		body = standard.Lake
	}
	class := standard.ClassIII
	if site.TargetClass != "" {
		if c, err := standard.ParseClass(site.TargetClass); err == nil {
			class = c
		}
	}
	limit, _, ok := standard.ClassLimit(param, class, body)
	return limit, ok && limit > 0
}

// resolve ends an incident's alert: End of Alert goes to everyone notified.
func (e *Engine) resolve(t *tx, st *State, actor, detail, commandID string) {
	now := t.now
	st.Incident.Status = message.IncidentResolved
	st.Incident.ResolvedAt = &now
	t.log(st, "resolved", actor, detail, commandID)
	st.Round++
	var f *Fact
	if n := len(st.Facts); n > 0 {
		f = &st.Facts[n-1]
	}
	recips := e.recipients(st)
	for _, r := range recips {
		e.enqueueRendered(t, st, r, KindEndOfAlert, "", e.books.Messages.EndOfAlert, f, fmt.Sprintf("eoa#%d", st.Round))
	}
	t.log(st, "end_of_alert", actorResponder, fmt.Sprintf("End of Alert to %d recipients", len(recips)), "")
	if st.Incident.Drill {
		t.log(st, "drill_report", actorResponder, DrillSummary(st.Incident), "")
	}
}

// StepResponse is how fast one step was answered.
type StepResponse struct {
	StepID       string         `json:"step_id"`
	Jurisdiction string         `json:"jurisdiction"`
	Role         string         `json:"role"`
	NotifiedAt   *time.Time     `json:"notified_at,omitempty"`
	Receipt      *time.Duration `json:"receipt_after,omitempty"` // from notification to receipt
	Done         *time.Duration `json:"done_after,omitempty"`    // from notification to done
	Escalated    bool           `json:"escalated"`
}

// DrillReport lists each step's response times (for drills, and any incident).
func DrillReport(inc message.Incident) []StepResponse {
	var out []StepResponse
	for _, s := range inc.Steps {
		r := StepResponse{StepID: s.ID, Jurisdiction: s.Jurisdiction, Role: s.Role, NotifiedAt: s.NotifiedAt, Escalated: s.EscalatedAt != nil}
		if s.NotifiedAt != nil {
			if s.ReceiptAt != nil {
				d := s.ReceiptAt.Sub(*s.NotifiedAt)
				r.Receipt = &d
			}
			if s.DoneAt != nil {
				d := s.DoneAt.Sub(*s.NotifiedAt)
				r.Done = &d
			}
		}
		out = append(out, r)
	}
	return out
}

// DrillSummary is a one-line drill report for the audit trail.
func DrillSummary(inc message.Incident) string {
	var parts []string
	for _, r := range DrillReport(inc) {
		s := r.StepID + ":"
		switch {
		case r.NotifiedAt == nil:
			s += " not delivered"
		default:
			if r.Receipt != nil {
				s += " receipt " + r.Receipt.Round(time.Second).String()
			} else {
				s += " no receipt"
			}
			if r.Done != nil {
				s += ", done " + r.Done.Round(time.Second).String()
			}
		}
		if r.Escalated {
			s += ", escalated"
		}
		parts = append(parts, s)
	}
	return "drill response times: " + strings.Join(parts, "; ")
}
