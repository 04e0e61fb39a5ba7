package incident

import (
	"fmt"
	"slices"
	"strings"

	"github.com/riverwatch/riverwatch/pkg/message"
)

// Acknowledgements expire (docs/escalation.md): an incident's acknowledgement when it
// resolves or re-opens, and the receipts of its steps not done when it re-opens, whose
// escalation then runs again from the re-opening. A re-opening within the playbook's
// resolve.renotify_within of the resolution tells the acknowledger, by name, that the
// acknowledgement has expired.

// Acknowledgement expiry reasons (message.Acknowledgement.Expiry).
const (
	expiryResolved = "resolved"
	expiryReopened = "reopened"
)

// expireAck ends the incident's acknowledgement in force, if any, on the record.
func expireAck(t *tx, st *State, why string) {
	inc := &st.Incident
	if inc.AckedAt == nil {
		return
	}
	now := t.now
	if n := len(inc.Acknowledgements); n > 0 && inc.Acknowledgements[n-1].ExpiredAt == nil {
		a := inc.Acknowledgements[n-1]
		a.ExpiredAt, a.Expiry = &now, why
		inc.Acknowledgements[n-1] = a
	}
	t.log(st, "acknowledgement_expired", actorResponder, fmt.Sprintf("acknowledgement by %s at %s expired: incident %s", inc.AckedBy, inc.AckedAt.Format("2006-01-02T15:04:05Z07:00"), why), "")
	inc.AckedAt, inc.AckedBy = nil, ""
	if inc.Status == message.IncidentAcknowledged {
		inc.Status = message.IncidentOpen
	}
}

// rearm makes a re-opened incident's steps that are not done answer again: their receipts
// expire and their escalation rules run again from now, under new idempotency keys.
func rearm(t *tx, st *State) {
	var expired []string
	for i := range st.Incident.Steps {
		step := &st.Incident.Steps[i]
		ss := st.Steps[step.ID]
		if step.DoneAt != nil || ss == nil {
			continue
		}
		if step.ReceiptAt != nil {
			step.ReceiptAt = nil
			expired = append(expired, step.ID)
		}
		ss.Created = t.now
		ss.Round++
		for k := range ss.Fired {
			ss.Fired[k] = false
		}
	}
	if len(expired) > 0 {
		t.log(st, "receipts_expired", actorResponder, "re-opened: receipts of steps not done expired: "+strings.Join(expired, ", "), "")
	}
}

// acknowledger returns the contacts of whoever last acknowledged the incident, when it
// re-opens within renotify of its resolution: the contacts named as the acknowledging
// token in its jurisdictions (a desk whose token and contact share a name), else those
// told so far in the incident's origin jurisdiction (the desk that may acknowledge it,
// pkg/authz). last is the acknowledgement; ok is false when there is none to re-notify.
func (e *Engine) acknowledger(st *State) (last message.Acknowledgement, rs []recipient, ok bool) {
	inc := &st.Incident
	n := len(inc.Acknowledgements)
	if n == 0 {
		return last, nil, false
	}
	last = inc.Acknowledgements[n-1]
	jurs := last.Jurisdictions
	if len(jurs) == 0 || slices.Contains(jurs, "*") {
		jurs = inc.Jurisdictions
	}
	for _, j := range jurs {
		for _, role := range e.contacts.RoleIDs() {
			if c, found := e.contacts.Find(j, role, last.By); found {
				rs = append(rs, recipient{Jurisdiction: j, Role: role, Contact: c})
			}
		}
	}
	if len(rs) > 0 {
		return last, rs, true
	}
	origin := e.origin(inc)
	for _, r := range e.recipients(st) {
		if r.Jurisdiction == origin {
			rs = append(rs, r)
		}
	}
	return last, rs, len(rs) > 0
}

func sameRecipient(a, b recipient) bool {
	return a.Jurisdiction == b.Jurisdiction && a.Role == b.Role && a.Contact.Name == b.Contact.Name && a.Contact.Channel == b.Contact.Channel
}
