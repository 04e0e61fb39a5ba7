package incident

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/riverwatch/riverwatch/pkg/authz"
	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/network"
	"github.com/riverwatch/riverwatch/pkg/standard"
)

// Outcomes of HandleCommand, for metrics.
const (
	CommandApplied  = "applied"
	CommandRejected = "rejected"
	// CommandUnauthorised: the command's actor may not give it (pkg/authz).
	CommandUnauthorised = "unauthorised"
)

// MaxCommandIDs bounds the command ids a State remembers (its dedup set), oldest dropped
// first. Only applied commands are remembered, and an incident has few of them (one
// acknowledge, one resolve per round, a receipt and a done per step), so the bound is
// never reached in practice; it only keeps a pathological incident's record small.
const MaxCommandIDs = 256

// rememberCommand adds an applied command's id to the state's dedup set, bounded.
func rememberCommand(st *State, id string) {
	st.Commands = append(st.Commands, id)
	if n := len(st.Commands); n > MaxCommandIDs {
		st.Commands = slices.Delete(st.Commands, 0, n-MaxCommandIDs)
	}
}

// HandleCommand applies an operator's command once per command id. Every command that
// names an incident leaves a log entry carrying its id — applied or refused with the
// reason — so that the api can tell the operator what happened.
//
// The state stays bounded however many commands arrive: a refused command changes no
// state (its log entry has an id derived from the command id, so a replay rewrites the
// same row), and only applied ids are kept, at most MaxCommandIDs. Exactly-once holds for
// the commands that change something: a replay of an applied command is recognised by its
// id in the dedup set and ignored; were its id ever dropped from the set, the state it
// caused refuses it (an acknowledged incident cannot be acknowledged again, a done step
// cannot be done again), so it still takes effect once.
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
	if cmd.Type == message.CommandSilenceCreate || cmd.Type == message.CommandSilenceExpire {
		return e.silenceCommand(t, cmd, actor)
	}
	// refuse records a refusal without touching any incident state.
	refuse := func(outcome, action, format string, args ...any) (string, Changes) {
		t.extra = append(t.extra, message.IncidentUpdate{Kind: message.UpdateLog, Log: &message.LogEntry{
			ID: hashID("rejected", cmd.ID), IncidentID: cmd.IncidentID, At: t.now, Actor: actor,
			Action: action, Detail: cmd.Type + ": " + fmt.Sprintf(format, args...), CommandID: cmd.ID,
		}})
		return outcome, t.finish()
	}
	reject := func(format string, args ...any) (string, Changes) {
		return refuse(CommandRejected, "command_rejected", format, args...)
	}
	st, ok := e.incidents[cmd.IncidentID]
	if !ok {
		return reject("no incident %q", cmd.IncidentID)
	}
	if slices.Contains(st.Commands, cmd.ID) {
		return OutcomeDuplicate, Changes{}
	}
	inc := &st.Incident
	var step *message.Step
	if cmd.Type == message.CommandConfirmReceipt || cmd.Type == message.CommandStepDone {
		i := slices.IndexFunc(inc.Steps, func(s message.Step) bool { return s.ID == cmd.StepID })
		if i < 0 {
			return reject("no step %q", cmd.StepID)
		}
		step = &inc.Steps[i]
	}
	stepJurisdiction := ""
	if step != nil {
		stepJurisdiction = step.Jurisdiction
	}
	if err := authz.Incident(authz.FromCommand(cmd), cmd.Type, *inc, e.origin(inc), stepJurisdiction); err != nil {
		return refuse(CommandUnauthorised, "command_refused", "not authorised: %v", err)
	}
	now := t.now
	switch cmd.Type {
	case message.CommandAcknowledge:
		if inc.Status != message.IncidentOpen {
			return reject("incident is %s", inc.Status)
		}
		inc.Status = message.IncidentAcknowledged
		inc.AckedAt, inc.AckedBy = &now, actor
		inc.Acknowledgements = append(inc.Acknowledgements, message.Acknowledgement{By: actor, At: now, Jurisdictions: slices.Clone(cmd.ActorJurisdictions)})
		t.log(st, "acknowledged", actor, note("acknowledged "+now.Sub(inc.OpenedAt).Round(time.Second).String()+" after opening", cmd.Note), cmd.ID)
	case message.CommandConfirmReceipt, message.CommandStepDone:
		if inc.Status == message.IncidentClosed {
			return reject("incident is closed")
		}
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
	rememberCommand(st, cmd.ID)
	return CommandApplied, t.finish()
}

// origin is the jurisdiction of the site where an incident started (pkg/authz: who may
// acknowledge and resolve it); the first jurisdiction recorded when the site is no longer
// in the network.
func (e *Engine) origin(inc *message.Incident) string {
	if site, ok := e.net.Site(inc.Site); ok {
		return site.Jurisdiction
	}
	if len(inc.Jurisdictions) > 0 {
		return inc.Jurisdictions[0]
	}
	return ""
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
	deny := func(outcome, action, format string, args ...any) (string, Changes) {
		t.extra = append(t.extra, message.IncidentUpdate{Kind: message.UpdateLog, Log: &message.LogEntry{
			ID: hashID("rejected", cmd.ID), At: t.now, Actor: actor, Action: action,
			Detail: "drill: " + fmt.Sprintf(format, args...), CommandID: cmd.ID,
		}})
		return outcome, t.finish()
	}
	refuse := func(format string, args ...any) (string, Changes) {
		return deny(CommandRejected, "command_rejected", format, args...)
	}
	site, ok := e.net.Site(cmd.Site)
	if !ok {
		return refuse("no site %q", cmd.Site)
	}
	if err := authz.Drill(authz.FromCommand(cmd), site.Jurisdiction); err != nil {
		return deny(CommandUnauthorised, "command_refused", "not authorised: %v", err)
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
	rememberCommand(st, cmd.ID)
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
	expireAck(t, st, expiryResolved)
	st.Round++
	if n := dropHeld(t, st); n > 0 {
		t.log(st, "held_dropped", actorResponder, fmt.Sprintf("%d notifications held by %s were never sent: resolved while silenced or inhibited", n, strings.Join(append(slices.Clone(st.Incident.SilencedBy), st.Incident.InhibitedBy...), ", ")), "")
	}
	e.endOnResolve(t, st)
	var f *Fact
	if n := len(st.Facts); n > 0 {
		f = &st.Facts[n-1]
	}
	recips := e.recipients(st)
	for _, r := range recips {
		e.enqueueRendered(t, st, r, KindEndOfAlert, "", e.books.Messages.EndOfAlert, f, fmt.Sprintf("eoa#%d", st.Round))
	}
	t.log(st, "end_of_alert", actorResponder, fmt.Sprintf("End of Alert to %d recipients", len(recips)), "")
	e.restoreFrequencies(t, st)
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
