package incident

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/riverwatch/riverwatch/pkg/authz"
	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/silence"
)

// SilenceKeyPrefix starts the state-topic key of a silence ("silence:<id>"); incident keys
// are incident ids ("inc-…"), so the two never collide.
const SilenceKeyPrefix = "silence:"

// Notification statuses of silenced messages.
const (
	// statusHeld: in the outbox, not delivered while a silence holds the incident.
	statusHeld = "held"
	// statusInhibited: the attempt record of a message a silence held (who would have
	// been told, and why not); also the final status of a held message whose incident
	// resolved while it was held.
	statusInhibited = "inhibited"
	// statusReleased: the record of a held message released when no silence held it.
	statusReleased = "released"
)

// SilenceState is what the state topic stores of one silence, keyed by SilenceKey: the
// silence and the ids of the commands applied to it (a replayed expiry is recognised).
type SilenceState struct {
	Silence  silence.Silence `json:"silence"`
	Commands []string        `json:"commands,omitempty"`
}

// SilenceKey is the state-topic key of a silence.
func SilenceKey(id string) string { return SilenceKeyPrefix + id }

// RestoreSilences loads silences read back from the state topic. Call it before Restore.
func (e *Engine) RestoreSilences(sils []*SilenceState) {
	for _, s := range sils {
		e.silences[s.Silence.ID] = s
	}
}

// UnmarshalSilence decodes a silence's state-topic value.
func UnmarshalSilence(b []byte) (*SilenceState, error) {
	var s SilenceState
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("decode silence state: %w", err)
	}
	if s.Silence.ID == "" {
		return nil, fmt.Errorf("decode silence state: no silence id")
	}
	return &s, nil
}

// Silences returns copies of every silence held (active, pending, and expired ones within
// the retention), by id.
func (e *Engine) Silences() []silence.Silence {
	out := make([]silence.Silence, 0, len(e.silences))
	for _, s := range e.sortedSilences() {
		out = append(out, cloneSilence(s))
	}
	return out
}

// SilenceCounts returns how many silences are in each state now (every state present).
func (e *Engine) SilenceCounts() map[string]int {
	now := e.clock.Now()
	m := map[string]int{silence.StatePending: 0, silence.StateActive: 0, silence.StateExpired: 0}
	for _, s := range e.silences {
		m[s.Silence.State(now)]++
	}
	return m
}

// Silence returns a copy of one silence.
func (e *Engine) Silence(id string) (silence.Silence, bool) {
	s, ok := e.silences[id]
	if !ok {
		return silence.Silence{}, false
	}
	return cloneSilence(&s.Silence), true
}

func (e *Engine) sortedSilences() []*silence.Silence {
	out := make([]*silence.Silence, 0, len(e.silences))
	for _, s := range e.silences {
		out = append(out, &s.Silence)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func cloneSilence(s *silence.Silence) silence.Silence {
	out := *s
	out.Matchers = slices.Clone(s.Matchers)
	if s.Recurrence != nil {
		r := *s.Recurrence
		r.Weekdays = slices.Clone(r.Weekdays)
		out.Recurrence = &r
	}
	return out
}

// touchSilence marks a change of a silence (a new version, published and persisted).
func (t *tx) touchSilence(s *silence.Silence) {
	if !slices.Contains(t.silTouched, s) {
		t.silTouched = append(t.silTouched, s)
	}
}

// logSilence adds an entry to a silence's audit trail, which lives in the incident log
// under the silence's id.
func (t *tx) logSilence(s *silence.Silence, action, actor, detail, commandID string) {
	t.touchSilence(s)
	t.silLogs[s] = append(t.silLogs[s], message.LogEntry{
		ID: hashID(s.ID, "log", action, commandID, fmt.Sprint(s.Version)), IncidentID: s.ID,
		At: t.now, Actor: actor, Action: action, Detail: detail, CommandID: commandID,
	})
}

// silenceCommand applies silence_create and silence_expire.
func (e *Engine) silenceCommand(t *tx, cmd message.Command, actor string) (string, Changes) {
	id := cmd.SilenceID
	if cmd.Type == message.CommandSilenceCreate && cmd.Silence != nil {
		id = cmd.Silence.ID
	}
	deny := func(outcome, action, format string, args ...any) (string, Changes) {
		t.extra = append(t.extra, message.IncidentUpdate{Kind: message.UpdateLog, Log: &message.LogEntry{
			ID: hashID("rejected", cmd.ID), IncidentID: id, At: t.now, Actor: actor, Action: action,
			Detail: cmd.Type + ": " + fmt.Sprintf(format, args...), CommandID: cmd.ID,
		}})
		return outcome, t.finish()
	}
	reject := func(format string, args ...any) (string, Changes) {
		return deny(CommandRejected, "command_rejected", format, args...)
	}
	if id == "" {
		return OutcomeInvalid, Changes{}
	}
	switch cmd.Type {
	case message.CommandSilenceCreate:
		if cmd.Silence == nil {
			return reject("no silence in the command")
		}
		if _, exists := e.silences[id]; exists {
			return OutcomeDuplicate, Changes{}
		}
		ss := &SilenceState{Silence: cloneSilence(cmd.Silence)}
		s := &ss.Silence
		s.CreatedBy, s.Version, s.ExpiredAt, s.ExpiredBy, s.Reason = actor, 0, nil, "", ""
		s.StartsAt, s.EndsAt = s.StartsAt.UTC(), s.EndsAt.UTC()
		if err := s.Validate(); err != nil {
			return reject("%v", err)
		}
		if !t.now.Before(s.EndsAt) {
			return reject("ends_at %s is in the past", s.EndsAt.Format("2006-01-02T15:04:05Z07:00"))
		}
		if err := authz.Silence(authz.FromCommand(cmd), silence.Scope(s, e.net)); err != nil {
			return deny(CommandUnauthorised, "command_refused", "not authorised: %v", err)
		}
		ss.Commands = []string{cmd.ID}
		e.silences[id] = ss
		t.logSilence(s, "silence_created", actor, s.Describe(), cmd.ID)
		return CommandApplied, t.finish()
	case message.CommandSilenceExpire:
		ss, ok := e.silences[id]
		if !ok {
			return reject("no silence %q", id)
		}
		if slices.Contains(ss.Commands, cmd.ID) {
			return OutcomeDuplicate, Changes{}
		}
		s := &ss.Silence
		if err := authz.Silence(authz.FromCommand(cmd), silence.Scope(s, e.net)); err != nil {
			return deny(CommandUnauthorised, "command_refused", "not authorised: %v", err)
		}
		if s.State(t.now) == silence.StateExpired {
			return reject("silence %s already ended at %s", id, s.EndsAt.Format("2006-01-02T15:04:05Z07:00"))
		}
		s.Expire(t.now, actor, note("expired by operator", cmd.Note))
		ss.Commands = append(ss.Commands, cmd.ID)
		t.logSilence(s, "silence_expired", actor, note("expired by operator", cmd.Note), cmd.ID)
		return CommandApplied, t.finish()
	}
	return reject("unknown command type")
}

// factLabels are the labels a silence is matched against for one event of an incident.
func (e *Engine) factLabels(st *State, f *Fact) silence.Labels {
	l := silence.Labels{silence.LabelSite: f.Site, silence.LabelParameter: f.Parameter, silence.LabelKind: f.SiteKind}
	if site, ok := e.net.Site(f.Site); ok {
		l[silence.LabelRiver], l[silence.LabelJurisdiction] = site.River, site.Jurisdiction
	} else {
		l[silence.LabelRiver] = st.Incident.River
	}
	return l
}

// silencedBy returns the silences that hold an incident's notifications now: an incident
// is silenced when every one of its events is matched by an active silence (Alertmanager's
// rule for a group: it notifies while any of its alerts is not silenced), so an incident
// that grows to a site no silence covers — a threatened intake downstream of a station in
// maintenance — is no longer silenced. Drills are never silenced: they test the chain.
func (e *Engine) silencedBy(st *State, t *tx) []string {
	if len(e.silences) == 0 || st.Incident.Drill || st.Incident.Status == message.IncidentClosed || len(st.Facts) == 0 {
		return nil
	}
	active := make([]*silence.Silence, 0, len(e.silences))
	for _, s := range e.sortedSilences() {
		if s.Active(t.now) {
			active = append(active, s)
		}
	}
	if len(active) == 0 {
		return nil
	}
	var ids []string
	for i := range st.Facts {
		l := e.factLabels(st, &st.Facts[i])
		matched := false
		for _, s := range active {
			if s.MatchesLabels(l) {
				matched = true
				if !slices.Contains(ids, s.ID) {
					ids = append(ids, s.ID)
				}
			}
		}
		if !matched {
			return nil
		}
	}
	slices.Sort(ids)
	return ids
}

// applySilences holds the pending notifications of every silenced incident (recording each
// as inhibited: who would have been told, and why not) and releases the held ones of
// incidents no silence holds any more. End of Alert is never held: it goes to whoever was
// told.
func (e *Engine) applySilences(t *tx) {
	fs := e.faults()
	for _, st := range e.sorted() {
		inhibited := e.applyInhibition(t, st, fs)
		if len(e.silences) == 0 && len(st.Incident.SilencedBy) == 0 && !inhibited && !hasHeld(st) {
			continue
		}
		ids := e.silencedBy(st, t)
		if !slices.Equal(ids, st.Incident.SilencedBy) {
			was := st.Incident.SilencedBy
			st.Incident.SilencedBy = ids
			switch {
			case len(ids) == 0:
				restartDelays(t, st)
				t.log(st, "silence_lifted", actorResponder, fmt.Sprintf("no silence holds it any more (was %s): held notifications are sent", strings.Join(was, ", ")), "")
			default:
				t.log(st, "silenced", actorResponder, "notifications held by "+e.describeSilences(ids), "")
			}
		}
		for _, o := range st.Outbox {
			switch {
			case len(ids) > 0 && o.Status == statusPending && o.Kind != KindEndOfAlert:
				o.Status = statusHeld
				t.record(st, o, statusInhibited, "held by "+e.describeSilences(ids))
				t.dirty(st)
			case inhibited && o.Status == statusPending && o.Kind != KindEndOfAlert && o.Kind != KindMaintenanceNotice:
				o.Status = statusHeld
				t.record(st, o, statusInhibited, "inhibited, maintenance told instead: "+strings.Join(st.Incident.InhibitedBy, "; "))
				t.dirty(st)
			case len(ids) == 0 && !inhibited && o.Status == statusHeld:
				o.Status, o.NextAt = statusPending, t.now
				t.record(st, o, statusReleased, "no silence or inhibition holds the incident any more")
				t.dirty(st)
			}
		}
	}
}

func (e *Engine) describeSilences(ids []string) string {
	parts := make([]string, 0, len(ids))
	for _, id := range ids {
		if ss, ok := e.silences[id]; ok {
			s := &ss.Silence
			parts = append(parts, fmt.Sprintf("silence %s (%s, until %s: %s)", id, s.CreatedBy, s.EndsAt.In(e.net.Location).Format("2006-01-02 15:04"), s.Comment))
		} else {
			parts = append(parts, "silence "+id)
		}
	}
	return strings.Join(parts, "; ")
}

func hasHeld(st *State) bool {
	return slices.ContainsFunc(st.Outbox, func(o *Outgoing) bool { return o.Status == statusHeld })
}

// dropHeld ends the held notifications of an incident that resolves while silenced: they
// were never sent, so nobody is owed an End of Alert for them. It returns how many.
func dropHeld(t *tx, st *State) int {
	n := 0
	for _, o := range st.Outbox {
		if o.Status == statusHeld {
			o.Status = statusInhibited
			n++
			t.dirty(st)
		}
	}
	return n
}

// endOnResolve expires the silences holding an incident that resolved, when they ask to.
func (e *Engine) endOnResolve(t *tx, st *State) {
	for _, id := range st.Incident.SilencedBy {
		ss, ok := e.silences[id]
		if !ok {
			continue
		}
		s := &ss.Silence
		if !s.EndOnResolve || s.State(t.now) == silence.StateExpired {
			continue
		}
		reason := "incident " + st.Incident.ID + " resolved (end_on_resolve)"
		s.Expire(t.now, actorResponder, reason)
		t.logSilence(s, "silence_expired", actorResponder, reason, "")
	}
}

// forgetSilences drops silences that ended longer ago than the retention.
func (e *Engine) forgetSilences(t *tx) {
	if e.cfg.Retain <= 0 {
		return
	}
	for _, s := range e.sortedSilences() {
		if !t.now.Before(s.EndsAt.Add(e.cfg.Retain)) {
			delete(e.silences, s.ID)
			t.removed = append(t.removed, SilenceKey(s.ID))
		}
	}
}
