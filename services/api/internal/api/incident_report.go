package api

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/riverwatch/riverwatch/pkg/incidentreport"
	"github.com/riverwatch/riverwatch/pkg/message"
)

// reportEventsSpan is how far before its opening an incident's events are looked for.
const reportEventsSpan = 24 * time.Hour

// handleReport serves GET /api/v1/incidents/{id}/report?kind=follow_up|final&format=text:
// the follow-up report (续报) or, once the incident is resolved or closed, the report of the
// result (处理结果报告) for the eeb role, as a plain-text download (pkg/incidentreport, the
// same text the responder sends at closing). Visible like the incident; its readings are
// those of the sites the caller sees.
func (s *Server) handleReport(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	kind, err := incidentreport.ParseKind(q.Get("kind"))
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, "bad_request", "%v", err)
		return
	}
	if f := q.Get("format"); f != "" && f != "text" {
		s.fail(w, r, http.StatusBadRequest, "bad_request", "format %q: only text is available", f)
		return
	}
	inc, ok := s.incidentFor(w, r)
	if !ok {
		return
	}
	if kind == incidentreport.Final && inc.Status != message.IncidentResolved && inc.Status != message.IncidentClosed {
		s.fail(w, r, http.StatusConflict, "not_finished", "incident %s is %s: %v", inc.ID, inc.Status, incidentreport.ErrNotFinished)
		return
	}
	d, err := s.detail(r, inc)
	if err != nil {
		s.storeFail(w, r, "incident "+inc.ID, err)
		return
	}
	p := principal(r)
	var sites []string
	for _, id := range append([]string{inc.Site}, inc.Sites...) {
		if site, ok := s.net.Site(id); ok && p.Sees(site.Jurisdiction) && !slices.Contains(sites, id) {
			sites = append(sites, id)
		}
	}
	now := s.now().UTC()
	var events []message.Event
	if len(sites) > 0 {
		evs, err := s.store.Events(r.Context(), EventQuery{Sites: sites, From: inc.OpenedAt.Add(-reportEventsSpan), To: now.Add(time.Second), Limit: maxOffset})
		if err != nil {
			s.storeFail(w, r, "events of incident "+inc.ID, err)
			return
		}
		for _, e := range evs {
			if slices.Contains(inc.EventIDs, e.ID) {
				events = append(events, e)
			}
		}
		slices.Reverse(events) // oldest first
	}
	text, err := incidentreport.Text(incidentreport.Record{
		Incident: inc, Log: d.Log, Notifications: d.Notifications, Events: events,
		Names: incidentreport.NetworkNames(s.net, s.roleName), Location: s.net.Location, Now: now,
	}, kind)
	if errors.Is(err, incidentreport.ErrNotFinished) {
		s.fail(w, r, http.StatusConflict, "not_finished", "incident %s: %v", inc.ID, err)
		return
	}
	if err != nil {
		s.internalFail(w, r, http.StatusInternalServerError, "report", "report of incident "+inc.ID, err)
		return
	}
	name := fmt.Sprintf("report-%s-%s-%s.txt", unsafeName.ReplaceAllString(inc.ID, "_"), kind, now.Format("20060102T150405Z"))
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte(text))
}

// roleName names a role from the contacts file the api read (roles:), else "生态环境局"
// and the like are left as ids.
func (s *Server) roleName(role string) string {
	s.rolesOnce.Do(func() {
		c := s.opt.Evidence.Contacts
		if c == nil {
			return
		}
		var f struct {
			Roles map[string]string `yaml:"roles"`
		}
		if err := yaml.Unmarshal(c.Data, &f); err == nil {
			s.roles = f.Roles
		}
	})
	return s.roles[role]
}
