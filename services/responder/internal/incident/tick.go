package incident

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/services/responder/internal/playbook"
)

// Tick advances time: it applies silences (holding and releasing notifications), escalates
// the steps of incidents no silence holds past their delays, resolves incidents that have
// recovered for their playbook's hold, closes resolved incidents that stayed quiet, and
// forgets closed ones after the retention.
func (e *Engine) Tick() Changes {
	t := e.begin()
	e.applySilences(t) // first, so that escalation sees who is silenced now
	for _, st := range e.sorted() {
		inc := &st.Incident
		pb, _ := e.books.Book(inc.Playbook)
		switch inc.Status {
		case message.IncidentOpen, message.IncidentAcknowledged:
			if gone := e.sitesGone(inc); gone != "" {
				// Nobody can act on a site the network no longer has (sites.yaml changed
				// while the incident was open): it is closed with the reason, not escalated
				// forever; those told hear the End of Alert.
				reason := "none of its sites (" + gone + ") is in sites.yaml any more"
				e.resolve(t, st, actorResponder, reason, "")
				now := t.now
				inc.Status, inc.ClosedAt = message.IncidentClosed, &now
				t.log(st, "closed", actorResponder, reason, "")
				e.finalReport(t, st)
				continue
			}
			if len(inc.SilencedBy) == 0 && len(inc.InhibitedBy) == 0 {
				// A silenced incident does not escalate: nobody was told, so nobody failed
				// to acknowledge (its steps' escalation delays restart when it is released).
				e.escalate(t, st)
				e.followUp(t, st)
			}
			if pb != nil && pb.Resolve.Auto && st.RecoveredAt != nil && !t.now.Before(st.RecoveredAt.Add(e.scale(pb.Resolve.Hold.D()))) {
				e.resolve(t, st, actorResponder, "water quality recovered at "+st.RecoveredAt.In(e.net.Location).Format("2006-01-02 15:04:05"), "")
			}
		case message.IncidentResolved:
			closeAfter := e.scale(24 * time.Hour)
			if pb != nil {
				closeAfter = e.scale(pb.Resolve.CloseAfter.D())
			}
			if !t.now.Before(inc.ResolvedAt.Add(closeAfter)) {
				now := t.now
				inc.Status = message.IncidentClosed
				inc.ClosedAt = &now
				t.log(st, "closed", actorResponder, "quiet since resolution", "")
				e.finalReport(t, st)
			}
		case message.IncidentClosed:
			if e.cfg.Retain > 0 && inc.ClosedAt != nil && !t.now.Before(inc.ClosedAt.Add(e.cfg.Retain)) && !inFlight(st) {
				delete(e.incidents, inc.ID)
				for _, id := range inc.EventIDs {
					delete(e.byEvent, id)
				}
				t.removed = append(t.removed, inc.ID)
			}
		}
	}
	e.forgetSilences(t)
	return t.finish()
}

// followUp sends the follow-up report (续报) to everyone told once the grouping's repeat
// has passed since the incident opened or since the last report.
func (e *Engine) followUp(t *tx, st *State) {
	every := e.scale(e.grouping(st).Repeat.D())
	if every <= 0 {
		return
	}
	last := st.Incident.OpenedAt
	if st.LastFollowUpAt != nil {
		last = *st.LastFollowUpAt
	}
	if t.now.Before(last.Add(every)) {
		return
	}
	now := t.now
	st.FollowUps++
	st.LastFollowUpAt = &now
	t.dirty(st)
	var f *Fact
	if n := len(st.Facts); n > 0 {
		f = &st.Facts[n-1]
	}
	done := 0
	for _, s := range st.Incident.Steps {
		if s.DoneAt != nil {
			done++
		}
	}
	recips := e.recipients(st)
	for _, r := range recips {
		vars := e.recipientVars(t, st, f, r)
		vars["repeat"] = fmt.Sprint(st.FollowUps)
		vars["steps_done"], vars["steps_total"] = fmt.Sprint(done), fmt.Sprint(len(st.Incident.Steps))
		e.enqueue(t, st, r, "", KindFollowUp, playbook.Render(e.books.Messages.FollowUp, vars), fmt.Sprintf("followup#%d", st.FollowUps))
	}
	t.log(st, "follow_up", actorResponder, fmt.Sprintf("follow-up report %d to %d recipients (every %s)", st.FollowUps, len(recips), every), "")
}

// sitesGone lists an incident's sites when none of them is in the network, else "".
func (e *Engine) sitesGone(inc *message.Incident) string {
	sites := inc.Sites
	if len(sites) == 0 && inc.Site != "" {
		sites = []string{inc.Site}
	}
	for _, id := range sites {
		if _, ok := e.net.Site(id); ok {
			return ""
		}
	}
	return strings.Join(sites, ", ")
}

func inFlight(st *State) bool {
	for _, o := range st.Outbox {
		if o.Status == statusPending || o.Status == statusSending {
			return true
		}
	}
	return false
}

// acknowledged reports whether a step counts as acknowledged: its receipt is confirmed or
// it is done, or — for a step that asks no receipt — the incident is acknowledged.
func acknowledged(inc *message.Incident, s *message.Step) bool {
	return s.ReceiptAt != nil || s.DoneAt != nil || (!s.ConfirmReceipt && inc.AckedAt != nil)
}

// escalate fires each escalation rule whose delay has passed and whose condition holds.
func (e *Engine) escalate(t *tx, st *State) {
	inc := &st.Incident
	for i := range inc.Steps {
		step := &inc.Steps[i]
		ss := st.Steps[step.ID]
		if ss == nil {
			continue
		}
		pb, ok := e.books.Book(ss.Playbook)
		if !ok {
			continue
		}
		def, ok := pb.Step(ss.Def)
		if !ok {
			continue
		}
		for k, rule := range def.Escalation {
			if k >= len(ss.Fired) || ss.Fired[k] {
				continue
			}
			after := rule.After.D()
			if after == 0 {
				after = def.Deadline.D()
			}
			if t.now.Before(ss.Created.Add(e.scale(after))) {
				continue
			}
			ss.Fired[k] = true
			t.dirty(st)
			var reason string
			switch rule.If {
			case playbook.IfNotAcknowledged:
				if acknowledged(inc, step) {
					continue
				}
				reason = "确认收到"
			case playbook.IfNotDone:
				if step.DoneAt != nil {
					continue
				}
				reason = "完成"
			}
			var f *Fact
			if n := len(st.Facts); n > 0 {
				f = &st.Facts[n-1]
			}
			vars := e.vars(st, f, nil, step.Deadline, t.now)
			vars["jurisdiction"] = step.Jurisdiction
			vars["jurisdiction_name"] = e.jurName(step.Jurisdiction)
			vars["role_name"] = e.contacts.RoleName(step.Role)
			vars["reason"] = reason
			vars["step_action"] = shorten(step.Action, 80)
			seq := fmt.Sprintf("esc#%d.%d", k, ss.Round)
			if ss.Round == 0 {
				seq = fmt.Sprintf("esc#%d", k) // the key of state written before re-arming
			}
			if rule.Reminder {
				// The step again, to its own actor (on duty now): no escalation yet.
				vars["repeat"] = fmt.Sprint(rule.Repeat)
				e.enqueueRole(t, st, step.ID, KindReminder, step.Jurisdiction, step.Role, playbook.Render(e.books.Messages.Reminder, vars)+"\n"+step.Action, seq)
				t.log(st, "reminded", actorResponder, fmt.Sprintf("%s %s: reminder %d to %s/%s", step.ID, rule.If, rule.Repeat, step.Jurisdiction, step.Role), "")
				continue
			}
			var targets []string
			if rule.To.Relation == playbook.RelStep {
				targets = []string{step.Jurisdiction}
			} else {
				for _, tg := range playbook.Resolve(e.net, ss.Site, rule.To.Relation) {
					targets = append(targets, tg.Jurisdiction)
				}
			}
			var to, missing []string
			for _, j := range targets {
				// Climb the river-chief tree from the designated jurisdiction.
				up, ok := e.net.Ancestor(j, rule.To.Up)
				if !ok {
					missing = append(missing, j)
					continue
				}
				if !slices.Contains(to, up+"/"+rule.To.Role) {
					to = append(to, up+"/"+rule.To.Role)
				}
			}
			if len(missing) > 0 {
				t.log(st, "escalation_skipped", actorResponder, fmt.Sprintf("%s %s: no %s of %s in the river-chief tree (sites.yaml parent)", step.ID, rule.If, rule.To.Level, strings.Join(missing, ", ")), "")
			}
			if len(to) == 0 {
				continue
			}
			now := t.now
			step.EscalatedAt = &now
			for _, jr := range to {
				j, role, _ := strings.Cut(jr, "/")
				e.enqueueRole(t, st, step.ID, KindEscalation, j, role, playbook.Render(e.books.Messages.Escalation, vars), seq)
			}
			step.EscalatedTo = strings.Join(to, ",")
			t.log(st, "escalated", actorResponder, fmt.Sprintf("%s %s → %s", step.ID, rule.If, step.EscalatedTo), "")
		}
	}
}

func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
