package api

import (
	"net/http"
	"slices"
	"time"

	"github.com/riverwatch/riverwatch/pkg/auth"
	"github.com/riverwatch/riverwatch/pkg/evaluate"
	"github.com/riverwatch/riverwatch/pkg/message"
)

var eventTypes = []string{
	message.EventExceedanceOpened, message.EventExceedanceUpdated, message.EventExceedanceCleared,
	message.EventPredictionIssued, message.EventPredictionCleared, message.EventQualitySuspect,
	message.EventStationOffline, message.EventStationOnline,
	message.EventPredictionVerified, message.EventPredictionRefuted,
}

func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	from, to, err := s.parseRange(r, 7*24*time.Hour)
	if err != nil {
		s.handleErr(w, r, "events", err)
		return
	}
	limit, offset, err := parsePage(r, defaultLimit, maxLimit, maxOffset)
	if err != nil {
		s.handleErr(w, r, "events", err)
		return
	}
	q := EventQuery{Types: listOf(r, "type"), From: from, To: to, Limit: limit + 1, Offset: offset}
	for _, t := range q.Types {
		if !slices.Contains(eventTypes, t) {
			s.fail(w, r, http.StatusBadRequest, "bad_request", "type=%q: not an event type (%v)", t, eventTypes)
			return
		}
	}
	if ids := listOf(r, "site"); len(ids) > 0 {
		for _, id := range ids {
			// A site outside the caller's jurisdictions is answered as an unknown one (L9).
			if site, ok := s.net.Site(id); !ok || !p.Sees(site.Jurisdiction) {
				s.fail(w, r, http.StatusNotFound, "not_found", "site %q not found", id)
				return
			}
		}
		q.Sites = ids
	} else if scope(p) != nil {
		q.Sites = siteIDs(s.visibleSites(p))
		if q.Sites == nil {
			q.Sites = []string{}
		}
	}
	events, err := s.store.Events(r.Context(), q)
	if err != nil {
		s.storeFail(w, r, "events", err)
		return
	}
	for i := range events {
		events[i] = eventView(events[i])
	}
	writeJSON(w, http.StatusOK, page(events, limit, offset))
}

// multipleView is an over-standard multiple as the API shows it: rounded to the one decimal
// the evaluation method prints (evaluate.RoundMultiple, 22号), so that a response says 0.6
// and not 0.6000000000000001. The store keeps the exact value, which the responder's level
// rules (min_multiple) compare; the signed evidence bundle carries the stored events as
// they are.
func multipleView(m float64) float64 { return evaluate.RoundMultiple(m) }

// eventView is an event as the API shows it: its multiple rounded (multipleView).
func eventView(e message.Event) message.Event {
	e.Multiple = multipleView(e.Multiple)
	return e
}

var incidentStatuses = []string{message.IncidentOpen, message.IncidentAcknowledged, message.IncidentResolved, message.IncidentClosed}

func (s *Server) handleIncidents(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	limit, offset, err := parsePage(r, defaultLimit, maxLimit, maxOffset)
	if err != nil {
		s.handleErr(w, r, "incidents", err)
		return
	}
	q := IncidentQuery{Jurisdictions: scope(p), Limit: limit + 1, Offset: offset}
	for _, st := range listOf(r, "status") {
		if st == "active" { // open or acknowledged: what a board shows
			q.Statuses = append(q.Statuses, message.IncidentOpen, message.IncidentAcknowledged)
			continue
		}
		q.Statuses = append(q.Statuses, st)
	}
	slices.Sort(q.Statuses)
	q.Statuses = slices.Compact(q.Statuses) // "active,open" is open and acknowledged once each
	for _, st := range q.Statuses {
		if !slices.Contains(incidentStatuses, st) {
			s.fail(w, r, http.StatusBadRequest, "bad_request", "status=%q: want open, acknowledged, resolved, closed or active", st)
			return
		}
	}
	list, err := s.store.Incidents(r.Context(), q)
	if err != nil {
		s.storeFail(w, r, "incidents", err)
		return
	}
	writeJSON(w, http.StatusOK, page(list, limit, offset))
}

// IncidentDetail is the body of GET /api/v1/incidents/{id}.
type IncidentDetail struct {
	Incident      message.Incident       `json:"incident"`
	Log           []message.LogEntry     `json:"log"`
	Notifications []message.Notification `json:"notifications"`
	// StationCommands are the host commands its playbooks asked of the stations (raised
	// frequency and its restore, retained samples), with what each station answered; those
	// at sites the caller does not see are left out.
	StationCommands []StationCommandView `json:"station_commands"`
}

// incidentFor loads {id}: 404 when unknown, and the same 404 when it concerns none of the
// caller's jurisdictions (L9: a 403 would tell that the incident exists).
func (s *Server) incidentFor(w http.ResponseWriter, r *http.Request) (message.Incident, bool) {
	id := r.PathValue("id")
	inc, err := s.store.Incident(r.Context(), id)
	if err != nil {
		s.storeFail(w, r, "incident "+id, err)
		return inc, false
	}
	if !seesIncident(principal(r), inc) {
		s.fail(w, r, http.StatusNotFound, "not_found", "incident %s not found", id)
		return inc, false
	}
	return inc, true
}

// seesIncident: an incident is visible to a token that sees any jurisdiction concerned,
// upstream and downstream included.
func seesIncident(p *auth.Principal, inc message.Incident) bool {
	return p.SeesAny(inc.Jurisdictions)
}

func (s *Server) handleIncident(w http.ResponseWriter, r *http.Request) {
	inc, ok := s.incidentFor(w, r)
	if !ok {
		return
	}
	d, err := s.detail(r, inc)
	if err != nil {
		s.storeFail(w, r, "incident "+inc.ID, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

func (s *Server) detail(r *http.Request, inc message.Incident) (IncidentDetail, error) {
	d := IncidentDetail{Incident: inc}
	var err error
	if d.Log, err = s.store.IncidentLog(r.Context(), inc.ID); err != nil {
		return d, err
	}
	if d.Notifications, err = s.store.Notifications(r.Context(), inc.ID); err != nil {
		return d, err
	}
	recs, err := s.store.StationCommands(r.Context(), StationCommandQuery{Incident: inc.ID,
		// Requested after the opening; the hour before allows for the clocks of the
		// responder and the gateways, the second after for a request made this instant.
		From: inc.OpenedAt.Add(-time.Hour), To: s.now().Add(time.Second), Limit: maxStationCommandRecords})
	if err != nil {
		return d, err
	}
	p := principal(r)
	recs = slices.DeleteFunc(recs, func(c message.StationCommand) bool {
		site, ok := s.net.Site(c.Site)
		return !ok || !p.Sees(site.Jurisdiction)
	})
	d.StationCommands = StationCommandViews(recs)
	if d.StationCommands == nil {
		d.StationCommands = []StationCommandView{}
	}
	if d.Log == nil {
		d.Log = []message.LogEntry{}
	}
	if d.Notifications == nil {
		d.Notifications = []message.Notification{}
	}
	return d, nil
}
