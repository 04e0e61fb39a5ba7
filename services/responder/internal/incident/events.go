package incident

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/network"
	"github.com/riverwatch/riverwatch/pkg/notify"
	"github.com/riverwatch/riverwatch/pkg/standard"
	"github.com/riverwatch/riverwatch/services/responder/internal/playbook"
)

// Outcomes of HandleEvent, for metrics.
const (
	OutcomeOpened     = "opened"    // a new incident
	OutcomeGrouped    = "grouped"   // added to an incident
	OutcomeCleared    = "cleared"   // a clearing event applied to its incident
	OutcomeDuplicate  = "duplicate" // an event id seen before (a replay)
	OutcomeUnrelated  = "unrelated" // a clearing event for no open incident
	OutcomeNoPlaybook = "no_playbook"
	OutcomeStale      = "stale"
	OutcomeInvalid    = "invalid"
)

var clearing = []string{message.EventExceedanceCleared, message.EventPredictionCleared, message.EventStationOnline}

var known = []string{
	message.EventExceedanceOpened, message.EventExceedanceUpdated, message.EventExceedanceCleared,
	message.EventPredictionIssued, message.EventPredictionCleared, message.EventQualitySuspect,
	message.EventStationOffline, message.EventStationOnline,
	message.EventPredictionVerified, message.EventPredictionRefuted,
}

// HandleEvent applies one event from the assessor: it opens an incident, grows one, clears
// a condition of one, or recognises a replay. The error explains an invalid event.
func (e *Engine) HandleEvent(ev message.Event) (string, Changes, error) {
	t := e.begin()
	switch {
	case ev.ID == "" || ev.Site == "":
		return OutcomeInvalid, Changes{}, errors.New("event without id or site")
	case !slices.Contains(known, ev.Type):
		return OutcomeInvalid, Changes{}, fmt.Errorf("event %s: unknown type %q", ev.ID, ev.Type)
	}
	site, ok := e.net.Site(ev.Site)
	if !ok {
		return OutcomeInvalid, Changes{}, fmt.Errorf("event %s: unknown site %q", ev.ID, ev.Site)
	}
	if _, dup := e.byEvent[ev.ID]; dup {
		return OutcomeDuplicate, Changes{}, nil
	}
	if ev.Type == message.EventPredictionVerified || ev.Type == message.EventPredictionRefuted {
		return e.recordVerdict(t, ev)
	}
	if slices.Contains(clearing, ev.Type) {
		st := e.findActive(ev)
		if st == nil {
			return OutcomeUnrelated, Changes{}, nil
		}
		e.addEvent(t, st, ev, site, nil)
		t.log(st, "event_added", actorResponder, fmt.Sprintf("%s at %s %s", ev.Type, site.ID, ev.Parameter), "")
		return OutcomeCleared, t.finish(), nil
	}
	pb := e.books.Match(&ev, site)
	if st := e.group(ev, site); st != nil {
		e.grow(t, st, ev, site, pb)
		return OutcomeGrouped, t.finish(), nil
	}
	if pb == nil {
		return OutcomeNoPlaybook, Changes{}, nil
	}
	ref := ev.EmittedAt
	if ref.IsZero() {
		ref = ev.ObservedAt
	}
	if e.cfg.MaxEventAge > 0 && !ref.IsZero() && t.now.Sub(ref) > e.cfg.MaxEventAge {
		return OutcomeStale, Changes{}, nil
	}
	e.open(t, ev, site, pb, false)
	return OutcomeOpened, t.finish(), nil
}

func eventTime(ev message.Event, now time.Time) time.Time {
	switch {
	case !ev.ObservedAt.IsZero():
		return ev.ObservedAt.UTC()
	case !ev.EmittedAt.IsZero():
		return ev.EmittedAt.UTC()
	}
	return now
}

func category(eventType string) string {
	switch eventType {
	case message.EventStationOffline, message.EventStationOnline, message.EventQualitySuspect:
		return CategoryMaintenance
	}
	return CategoryWaterQuality
}

func (e *Engine) groupOf(ev message.Event) string {
	if category(ev.Type) == CategoryMaintenance {
		return "site:" + ev.Site
	}
	return e.books.Group(ev.Parameter)
}

// activeKey names the condition an event opens or clears; "" for events that never clear.
func activeKey(ev message.Event) string {
	switch ev.Type {
	case message.EventExceedanceOpened, message.EventExceedanceUpdated, message.EventExceedanceCleared:
		return "exceedance|" + ev.Site + "|" + ev.Parameter
	case message.EventPredictionIssued, message.EventPredictionCleared:
		return "prediction|" + ev.Site + "|" + ev.Parameter
	case message.EventStationOffline, message.EventStationOnline:
		return "offline|" + ev.Site
	}
	return ""
}

// findActive returns the incident in which a clearing event's condition is active.
func (e *Engine) findActive(ev message.Event) *State {
	key := activeKey(ev)
	var best *State
	for _, st := range e.sorted() {
		if st.Incident.Status == message.IncidentClosed || !st.Active[key] {
			continue
		}
		if best == nil || st.LastEventAt.After(best.LastEventAt) {
			best = st
		}
	}
	return best
}

// group finds the incident an opening event belongs to: the incident of the event it
// derives from (a prediction's origin), else an incident that is not closed, of the same
// category and parameter group, on a site connected along the flow, whose latest event is
// within the group window. Drills never absorb real events.
func (e *Engine) group(ev message.Event, site *network.Site) *State {
	if ev.OriginEventID != "" {
		if id, ok := e.byEvent[ev.OriginEventID]; ok {
			if st := e.incidents[id]; st != nil && st.Incident.Status != message.IncidentClosed {
				return st
			}
		}
	}
	at := eventTime(ev, e.clock.Now())
	cat, grp := category(ev.Type), e.groupOf(ev)
	var best *State
	for _, st := range e.sorted() {
		if st.Incident.Status == message.IncidentClosed || st.Incident.Drill || st.Category != cat || st.Group != grp {
			continue
		}
		if d := at.Sub(st.LastEventAt); d > e.cfg.GroupWindow || d < -e.cfg.GroupWindow {
			continue
		}
		if cat == CategoryWaterQuality && !e.connected(site.ID, st.Incident.Sites) {
			continue
		}
		if best == nil || st.LastEventAt.After(best.LastEventAt) {
			best = st
		}
	}
	return best
}

// connected reports whether a site is one of sites or lies up- or downstream of one.
func (e *Engine) connected(siteID string, sites []string) bool {
	for _, s := range sites {
		if s == siteID {
			return true
		}
		for _, rc := range e.net.Downstream(s) {
			if rc.Site.ID == siteID {
				return true
			}
		}
		for _, rc := range e.net.Upstream(s) {
			if rc.Site.ID == siteID {
				return true
			}
		}
	}
	return false
}

// open starts an incident from its first event.
func (e *Engine) open(t *tx, ev message.Event, site *network.Site, pb *playbook.Playbook, drill bool) *State {
	id := "inc-" + hashID("incident", ev.ID)[:16]
	st := &State{
		Incident: message.Incident{
			ID: id, Status: message.IncidentOpen, Playbook: pb.ID, Playbooks: []string{pb.ID},
			River: site.River, Site: site.ID, Drill: drill, OpenedAt: t.now,
			Title: e.title(ev, site),
		},
		Category: category(ev.Type), Group: e.groupOf(ev),
		Active: map[string]bool{}, Steps: map[string]*StepState{},
	}
	e.incidents[id] = st
	kind := "incident"
	if drill {
		kind = "drill"
	}
	t.log(st, "opened", actorResponder, fmt.Sprintf("%s opened by %s at %s (%s); playbook %s", kind, ev.Type, site.ID, e.paramName(ev.Parameter), pb.ID), "")
	f := e.addEvent(t, st, ev, site, pb)
	e.concern(st, pb, site)
	e.relevel(t, st)
	e.applyPlaybook(t, st, pb, f, site)
	return st
}

// grow adds an event to an incident: it may reopen it, add a playbook, raise the level and
// assign new steps.
func (e *Engine) grow(t *tx, st *State, ev message.Event, site *network.Site, pb *playbook.Playbook) {
	before := e.recipients(st)
	if st.Incident.Status == message.IncidentResolved {
		resolvedAt := st.Incident.ResolvedAt
		st.Incident.Status = message.IncidentOpen
		st.Incident.ResolvedAt = nil
		st.Round++
		t.log(st, "reopened", actorResponder, fmt.Sprintf("%s at %s after resolution", ev.Type, site.ID), "")
		expireAck(t, st, expiryReopened) // one that outlived the resolution (state written before expiry)
		rearm(t, st)
		f := e.factFor(ev, site, nil)
		var acker []recipient
		if last, rs, ok := e.acknowledger(st); ok && resolvedAt != nil && t.now.Sub(*resolvedAt) <= e.renotifyWithin(st) {
			acker = rs
			vars := e.vars(st, &f, nil, time.Time{}, t.now)
			vars["acked_by"] = last.By
			vars["acked_at"] = last.At.In(e.net.Location).Format("01月02日15:04")
			for _, r := range rs {
				vars["jurisdiction"], vars["jurisdiction_name"], vars["role_name"] = r.Jurisdiction, e.jurName(r.Jurisdiction), e.contacts.RoleName(r.Role)
				e.enqueue(t, st, r, "", KindReacknowledge, playbook.Render(e.books.Messages.Reacknowledge, vars), fmt.Sprintf("reack#%d", st.Round))
			}
			t.log(st, "acknowledger_renotified", actorResponder, fmt.Sprintf("re-opened %s after resolution: %s, who acknowledged at %s, told to acknowledge again (%d contacts)", t.now.Sub(*resolvedAt).Round(time.Second), last.By, last.At.Format(time.RFC3339), len(rs)), "")
		}
		for _, r := range before {
			if slices.ContainsFunc(acker, func(a recipient) bool { return sameRecipient(a, r) }) {
				continue // told by the re-acknowledgement message instead
			}
			e.enqueueRendered(t, st, r, KindReopened, "", e.books.Messages.Reopened, &f, fmt.Sprintf("reopen#%d", st.Round))
		}
	}
	f := e.addEvent(t, st, ev, site, pb)
	t.log(st, "event_added", actorResponder, fmt.Sprintf("%s at %s %s", ev.Type, site.ID, ev.Parameter), "")
	e.primary(t, st, ev, site)
	if pb != nil && !slices.Contains(st.Incident.Playbooks, pb.ID) {
		st.Incident.Playbooks = append(st.Incident.Playbooks, pb.ID)
		t.log(st, "playbook_added", actorResponder, fmt.Sprintf("%s (by %s at %s)", pb.ID, ev.Type, site.ID), "")
	}
	if pb != nil {
		e.concern(st, pb, site)
	}
	old := st.Incident.Level
	if e.relevel(t, st) && old != "" {
		st.Round++
		for _, r := range before {
			e.update(t, st, r, f, fmt.Sprintf("level#%d", st.Round))
		}
	}
	if pb != nil {
		e.applyPlaybook(t, st, pb, f, site)
	}
}

// primary makes the site where pollution was observed the incident's site and title when
// the incident was opened by a threat to another site (a prediction at an intake that
// arrived before the exceedance upstream): responders read where it happened first, and
// the threatened site stays among its sites and in its steps.
func (e *Engine) primary(t *tx, st *State, ev message.Event, site *network.Site) {
	if ev.Type != message.EventExceedanceOpened && ev.Type != message.EventExceedanceUpdated || site.ID == st.Incident.Site {
		return
	}
	for _, f := range st.Facts {
		if f.Site == st.Incident.Site && f.Type != message.EventPredictionIssued && f.Type != message.EventPredictionCleared {
			return // pollution was observed at the incident's site itself
		}
	}
	old := st.Incident.Site
	st.Incident.Site, st.Incident.Title = site.ID, e.title(ev, site)
	t.log(st, "primary_site", actorResponder, fmt.Sprintf("%s, where the pollution was observed, is the incident's site; %s, threatened, stays among its sites", site.ID, old), "")
}

func (e *Engine) factFor(ev message.Event, site *network.Site, pb *playbook.Playbook) Fact {
	f := Fact{
		EventID: ev.ID, Type: ev.Type, Site: site.ID, SiteKind: site.Kind, Parameter: ev.Parameter,
		Value: ev.Value, Limit: ev.Limit, Multiple: ev.Multiple, Severity: ev.Severity, Reason: ev.Reason,
		Origin: ev.OriginSite, Arrival: ev.ArrivalAt, Prediction: ev.Prediction, At: eventTime(ev, e.clock.Now()),
	}
	if pb != nil {
		f.Playbook = pb.ID
	}
	return f
}

// addEvent records an event in an incident and updates its active conditions.
func (e *Engine) addEvent(t *tx, st *State, ev message.Event, site *network.Site, pb *playbook.Playbook) *Fact {
	t.touch(st)
	e.byEvent[ev.ID] = st.Incident.ID
	inc := &st.Incident
	inc.EventIDs = append(inc.EventIDs, ev.ID)
	st.Facts = append(st.Facts, e.factFor(ev, site, pb))
	f := &st.Facts[len(st.Facts)-1]
	f.Sources = e.sources // HandleEventWithSources: the ranking of this event
	if !slices.Contains(inc.Sites, site.ID) {
		inc.Sites = append(inc.Sites, site.ID)
	}
	if !slices.Contains(inc.Jurisdictions, site.Jurisdiction) {
		inc.Jurisdictions = append(inc.Jurisdictions, site.Jurisdiction)
	}
	if ev.Parameter != "" && !slices.Contains(inc.Parameters, ev.Parameter) {
		inc.Parameters = append(inc.Parameters, ev.Parameter)
	}
	keepPrediction(inc, ev)
	key := activeKey(ev)
	if slices.Contains(clearing, ev.Type) {
		st.Active[key] = false
		if !anyActive(st) && st.RecoveredAt == nil {
			now := t.now
			st.RecoveredAt = &now
		}
		return f
	}
	if f.At.After(st.LastEventAt) {
		st.LastEventAt = f.At
	}
	if key != "" {
		st.Active[key] = true
	}
	if anyActive(st) {
		st.RecoveredAt = nil
	} else {
		// Events that never clear (quality.suspect): the incident recovers when it has
		// been quiet for the playbook's hold, counted from its latest event.
		now := t.now
		st.RecoveredAt = &now
	}
	return f
}

func anyActive(st *State) bool {
	for _, v := range st.Active {
		if v {
			return true
		}
	}
	return false
}

// renotifyWithin is how long after its resolution a re-opening re-notifies the
// acknowledger: the playbook's resolve.renotify_within, else its close_after (scaled).
func (e *Engine) renotifyWithin(st *State) time.Duration {
	pb, ok := e.books.Book(st.Incident.Playbook)
	if !ok {
		return e.scale(24 * time.Hour)
	}
	if d := pb.Resolve.RenotifyWithin.D(); d > 0 {
		return e.scale(d)
	}
	if d := pb.Resolve.CloseAfter.D(); d > 0 {
		return e.scale(d)
	}
	return e.scale(24 * time.Hour)
}

// concern adds every jurisdiction a playbook's steps designate from a site.
func (e *Engine) concern(st *State, pb *playbook.Playbook, site *network.Site) {
	for _, def := range pb.Steps {
		for _, tg := range playbook.Resolve(e.net, site.ID, def.Actor.Relation) {
			if !slices.Contains(st.Incident.Jurisdictions, tg.Jurisdiction) {
				st.Incident.Jurisdictions = append(st.Incident.Jurisdictions, tg.Jurisdiction)
			}
		}
	}
}

// relevel sets the incident's level to the highest its playbooks' rules give, never
// lowering it; it reports whether the level rose.
func (e *Engine) relevel(t *tx, st *State) bool {
	best, colour := 0, ""
	for _, pid := range st.Incident.Playbooks {
		pb, ok := e.books.Book(pid)
		if !ok {
			continue
		}
		if r := playbook.LevelRank(pb.Level); r > best {
			best, colour = r, playbook.DefaultColour[pb.Level]
		}
		for _, rule := range pb.Levels {
			r := playbook.LevelRank(rule.Level)
			if r <= best || !e.holds(st, pid, rule.When) {
				continue
			}
			best, colour = r, rule.Colour
			if colour == "" {
				colour = playbook.DefaultColour[rule.Level]
			}
		}
	}
	if best <= playbook.LevelRank(st.Incident.Level) {
		return false
	}
	old := st.Incident.Level
	st.Incident.Level = playbook.Levels[best-1]
	st.Incident.Colour = colour
	if old != "" {
		t.log(st, "level_changed", actorResponder, fmt.Sprintf("%s → %s (%s)", old, st.Incident.Level, colour), "")
	}
	return true
}

// holds tests a level rule's condition: the incident-wide parts on the incident, the rest
// on any one event that matched the rule's playbook.
func (e *Engine) holds(st *State, pid string, c playbook.Condition) bool {
	if c.MinSites > 0 && len(st.Incident.Sites) < c.MinSites {
		return false
	}
	if c.MinJurisdictions > 0 && len(st.Incident.Jurisdictions) < c.MinJurisdictions {
		return false
	}
	for _, f := range st.Facts {
		if f.Playbook != pid {
			continue
		}
		if !playbook.In(c.EventTypes, f.Type) || !playbook.In(c.SiteKinds, f.SiteKind) || !playbook.In(c.Severity, f.Severity) {
			continue
		}
		if c.MinMultiple != nil && f.Multiple < *c.MinMultiple {
			continue
		}
		if c.Toxic != nil && standard.IsToxic(f.Parameter) != *c.Toxic {
			continue
		}
		if c.HeavyMetal != nil && standard.IsHeavyMetal(f.Parameter) != *c.HeavyMetal {
			continue
		}
		return true
	}
	return false
}

// applyPlaybook assigns a playbook's steps relative to a site, each jurisdiction once.
func (e *Engine) applyPlaybook(t *tx, st *State, pb *playbook.Playbook, f *Fact, site *network.Site) {
	for i := range pb.Steps {
		def := &pb.Steps[i]
		targets := playbook.Resolve(e.net, site.ID, def.Actor.Relation)
		if len(targets) == 0 {
			key := pb.ID + "." + def.ID + "@" + site.ID
			if !slices.Contains(st.Skipped, key) {
				st.Skipped = append(st.Skipped, key)
				t.log(st, "step_skipped", actorResponder, fmt.Sprintf("%s.%s: no %s jurisdiction of %s", pb.ID, def.ID, def.Actor.Relation, site.ID), "")
			}
			continue
		}
		for _, tg := range targets {
			id := pb.ID + "." + def.ID + "." + tg.Jurisdiction
			if _, exists := st.Steps[id]; exists {
				continue
			}
			deadline := t.now.Add(e.scale(def.Deadline.D()))
			vars := e.vars(st, f, &tg, deadline, t.now)
			vars["role_name"] = e.contacts.RoleName(def.Actor.Role)
			step := message.Step{
				ID: id, Relation: def.Actor.Relation, Jurisdiction: tg.Jurisdiction, Role: def.Actor.Role,
				Action: playbook.Render(def.Action, vars), Deadline: deadline, ConfirmReceipt: def.ConfirmReceipt,
			}
			st.Incident.Steps = append(st.Incident.Steps, step)
			st.Steps[id] = &StepState{Playbook: pb.ID, Def: def.ID, Site: site.ID, Created: t.now, Fired: make([]bool, len(def.Escalation))}
			t.log(st, "step_assigned", actorResponder, fmt.Sprintf("%s → %s/%s, deadline %s", id, tg.Jurisdiction, def.Actor.Role, deadline.Format(time.RFC3339)), "")
			body := step.Action
			if def.ConfirmReceipt {
				body += "\n" + playbook.Render(e.books.Messages.ReceiptAsk, vars)
			}
			e.enqueueRole(t, st, id, def.Kind, tg.Jurisdiction, def.Actor.Role, body, "")
			if def.StationCommand != nil {
				e.stationCommand(t, st, id, pb.ID+"."+def.ID, def.StationCommand, tg.Site)
			}
		}
	}
}

// enqueueRole queues one message to every contact of a role in a jurisdiction on duty now
// (the rota's shift of this hour, else the entry's people).
func (e *Engine) enqueueRole(t *tx, st *State, stepID, kind, jur, role, body, seq string) {
	contacts := e.contacts.OnDuty(jur, role, t.now)
	if len(contacts) == 0 {
		t.log(st, "no_contact", actorResponder, fmt.Sprintf("no contact for %s/%s: %s %s not delivered", jur, role, kind, stepID), "")
		return
	}
	for _, c := range contacts {
		e.enqueue(t, st, recipient{Jurisdiction: jur, Role: role, Contact: c}, stepID, kind, body, seq)
	}
}

type recipient struct {
	Jurisdiction, Role string
	Contact            notify.Contact
}

// enqueue puts one message for one recipient in the incident's outbox, unless a message
// with the same idempotency key is there already. Nothing is sent here: the responder
// delivers what the outbox holds.
// The grouping's wait holds what is queued in an incident's first moments until it is over.
// It returns the message queued, nil when it was there already.
func (e *Engine) enqueue(t *tx, st *State, r recipient, stepID, kind, body, seq string) *Outgoing {
	key := "ntf-" + hashID(st.Incident.ID, stepID, kind, seq, r.Jurisdiction, r.Role, r.Contact.Name, r.Contact.Channel) // the contact key, not its address: the state holds no address
	for _, o := range st.Outbox {
		if o.Key == key {
			return nil
		}
	}
	next := t.now
	if w := e.scale(e.grouping(st).Wait.D()); w > 0 && t.now.Before(st.Incident.OpenedAt.Add(w)) {
		next = st.Incident.OpenedAt.Add(w)
	}
	subject := e.subject(st)
	if kind == KindEndOfAlert || kind == KindFinalReport {
		subject = "【解除预警】" + st.Incident.Title
		if kind == KindFinalReport {
			subject = "【处理结果报告】" + st.Incident.Title
		}
		if st.Incident.Drill {
			subject = drillPrefix + subject
		}
	}
	if st.Incident.Drill {
		body = drillPrefix + body
	}
	o := &Outgoing{
		Key: key, StepID: stepID, Kind: kind, Jurisdiction: r.Jurisdiction, Role: r.Role,
		Name: r.Contact.Name, Channel: r.Contact.Channel, Target: r.Contact.Target,
		Subject: subject, Body: body, Status: statusPending, NextAt: next,
	}
	st.Outbox = append(st.Outbox, o)
	t.dirty(st)
	return o
}

// grouping is the notification timing of an incident: that of the playbook that opened it.
func (e *Engine) grouping(st *State) playbook.Grouping {
	var pb *playbook.Playbook
	if len(st.Incident.Playbooks) > 0 {
		pb, _ = e.books.Book(st.Incident.Playbooks[0])
	}
	return e.books.GroupingOf(pb)
}

// update tells one recipient of a level change, within the grouping's interval. A
// recipient who has been sent nothing yet (the first messages wait) is told by them: their
// subjects take the new level, and no update follows. An update still waiting for the
// interval takes the newer text instead of a second one joining it; otherwise the update
// waits until the interval since the last message sent to the recipient is over (as
// Alertmanager's group_interval counts from the group's last notification).
func (e *Engine) update(t *tx, st *State, r recipient, f *Fact, seq string) {
	var mine []*Outgoing
	for _, o := range st.Outbox {
		if o.Jurisdiction == r.Jurisdiction && o.Role == r.Role && o.Name == r.Contact.Name && o.Channel == r.Contact.Channel {
			mine = append(mine, o)
		}
	}
	told := slices.ContainsFunc(mine, func(o *Outgoing) bool { return o.Status != statusPending || o.Attempts > 0 })
	if !told {
		for _, o := range mine {
			if o.Kind != KindEndOfAlert {
				o.Subject = e.subject(st)
			}
		}
		t.dirty(st)
		return
	}
	body := playbook.Render(e.books.Messages.LevelChanged, e.recipientVars(t, st, f, r))
	var lastSent time.Time
	for _, o := range mine {
		if o.SentAt != nil && o.SentAt.After(lastSent) {
			lastSent = *o.SentAt
		}
		if o.Kind == KindUpdate && o.Status == statusPending && o.Attempts == 0 {
			o.Subject, o.Body = e.subject(st), body
			t.dirty(st)
			t.log(st, "update_coalesced", actorResponder, fmt.Sprintf("the level change to %s joins the update waiting for %s/%s/%s", st.Incident.Level, r.Jurisdiction, r.Role, r.Contact.Name), "")
			return
		}
	}
	o := e.enqueue(t, st, r, "", KindUpdate, body, seq)
	if iv := e.scale(e.grouping(st).Interval.D()); o != nil && iv > 0 && !lastSent.IsZero() && o.NextAt.Before(lastSent.Add(iv)) {
		o.NextAt = lastSent.Add(iv)
	}
}

// enqueueRendered renders one of the responder's own messages for a recipient and
// enqueues it.
func (e *Engine) enqueueRendered(t *tx, st *State, r recipient, kind, stepID, text string, f *Fact, seq string) {
	e.enqueue(t, st, r, stepID, kind, playbook.Render(text, e.recipientVars(t, st, f, r)), seq)
}

// recipientVars are the placeholders of one of the responder's own messages to r: the
// incident's and the fact's, and the recipient's jurisdiction and role.
func (e *Engine) recipientVars(t *tx, st *State, f *Fact, r recipient) map[string]string {
	vars := e.vars(st, f, nil, time.Time{}, t.now)
	vars["jurisdiction"], vars["jurisdiction_name"], vars["role_name"] = r.Jurisdiction, e.jurName(r.Jurisdiction), e.contacts.RoleName(r.Role)
	return vars
}

// recipients lists everyone notified so far (distinct contacts), End of Alert excluded, and
// so are messages a silence held: they told nobody.
func (e *Engine) recipients(st *State) []recipient {
	var out []recipient
	seen := map[string]bool{}
	for _, o := range st.Outbox {
		if o.Kind == KindEndOfAlert || o.Status == statusHeld || o.Status == statusInhibited {
			continue // a silenced message told nobody
		}
		k := o.Jurisdiction + "|" + o.Role + "|" + o.Name + "|" + o.Channel
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, recipient{Jurisdiction: o.Jurisdiction, Role: o.Role, Contact: notify.Contact{Name: o.Name, Channel: o.Channel, Target: o.Target}})
	}
	return out
}
