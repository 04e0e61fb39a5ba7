package api

import (
	"net/http"
	"slices"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/network"
	"github.com/riverwatch/riverwatch/pkg/sourcerank"
	"github.com/riverwatch/riverwatch/pkg/store"
)

// SourcesReport is the upstream source ranking of an incident (溯源, GET
// /api/v1/incidents/{id}/sources; docs/sources.md): what rose at the incident's site, and
// the upstream outfalls, sections and sources the caller sees, best evidence first.
type SourcesReport struct {
	Incident string `json:"incident"`
	Site     string `json:"site"`
	// Onset is when the site's lead parameter crossed half way to its peak, the instant
	// every lag is measured back from; when it did not rise, when the incident's exceedance
	// was observed (its exceedance.opened event at the site, else the incident's opening).
	Onset time.Time `json:"onset"`
	Lead  string    `json:"lead,omitempty"`
	// Rises are what the site's parameters did around the onset: those that rose, and the
	// incident's parameters whether or not they did.
	Rises      []sourcerank.Rise `json:"rises"`
	Candidates []SourceCandidate `json:"candidates"`
}

// SourceCandidate is one upstream site's evidence (sourcerank.Candidate) with its name,
// jurisdiction and the lags in seconds.
type SourceCandidate struct {
	sourcerank.Candidate
	Name         string `json:"name"`
	Jurisdiction string `json:"jurisdiction"`
	// ExpectedLagS is the plume's travel time from the candidate to the site; the band
	// runs from EarliestLagS − SlackS to LatestLagS + SlackS.
	ExpectedLagS int64 `json:"expected_lag_s"`
	EarliestLagS int64 `json:"earliest_lag_s"`
	LatestLagS   int64 `json:"latest_lag_s"`
	SlackS       int64 `json:"slack_s"`
	// ObservedLagS is the site's onset minus the candidate's rise; null without a rise.
	ObservedLagS *int64 `json:"observed_lag_s"`
}

// sourcesLookback is how long before the incident's opening its exceedance may have been
// observed: the responder opens an incident when it processes the event, which for data
// sent late (a backfill, a replay, the accelerated demo) is hours after the water did it.
const sourcesLookback = 48 * time.Hour

// handleSources answers GET /api/v1/incidents/{id}/sources. The incident is checked as
// every incident route checks it (404 outside the caller's jurisdictions); candidates at
// sites the caller does not see are neither read nor shown, and a caller that does not see
// the incident's own site (a desk downstream) gets no ranking: it rests on that site's
// readings, which /sites/{id}/readings would not show it either.
func (s *Server) handleSources(w http.ResponseWriter, r *http.Request) {
	inc, ok := s.incidentFor(w, r)
	if !ok {
		return
	}
	rep := SourcesReport{Incident: inc.ID, Site: inc.Site, Onset: inc.OpenedAt.UTC(), Rises: []sourcerank.Rise{}, Candidates: []SourceCandidate{}}
	p := principal(r)
	if site, ok := s.net.Site(inc.Site); !ok || !p.Sees(site.Jurisdiction) {
		writeJSON(w, http.StatusOK, rep) // a site since removed from sites.yaml, or not the caller's
		return
	}
	at, err := s.exceedanceAt(r, inc)
	if err != nil {
		s.storeFail(w, r, "events of "+inc.ID, err)
		return
	}
	rep.Onset = at.UTC()
	rk, err := store.RankSources(r.Context(), s.store, s.net, store.SourcesQuery{Site: inc.Site, At: at, Parameters: inc.Parameters,
		Sees: func(site *network.Site) bool { return p.Sees(site.Jurisdiction) }})
	if err != nil {
		s.storeFail(w, r, "sources of "+inc.ID, err)
		return
	}
	rep.Onset, rep.Lead = rk.Onset.UTC(), rk.Lead
	if rk.Rises != nil {
		rep.Rises = rk.Rises
	}
	for _, c := range rk.Candidates {
		site, _ := s.net.Site(c.Site)
		if !p.Sees(site.Jurisdiction) {
			continue
		}
		v := SourceCandidate{Candidate: c, Name: site.Name, Jurisdiction: site.Jurisdiction,
			ExpectedLagS: secondsOf(c.Lag.Expected), EarliestLagS: secondsOf(c.Lag.Earliest),
			LatestLagS: secondsOf(c.Lag.Latest), SlackS: secondsOf(c.Lag.Slack)}
		if c.ObservedLag != nil {
			l := secondsOf(*c.ObservedLag)
			v.ObservedLagS = &l
		}
		rep.Candidates = append(rep.Candidates, v)
	}
	writeJSON(w, http.StatusOK, rep)
}

// exceedanceAt is when the incident's exceedance was observed at its site: the earliest
// observed time of its exceedance.opened events there, else its opening.
func (s *Server) exceedanceAt(r *http.Request, inc message.Incident) (time.Time, error) {
	evs, err := s.store.Events(r.Context(), EventQuery{Sites: []string{inc.Site}, Types: []string{message.EventExceedanceOpened},
		From: inc.OpenedAt.Add(-sourcesLookback), To: inc.OpenedAt.Add(time.Minute), Limit: maxLimit})
	if err != nil {
		return time.Time{}, err
	}
	var at time.Time
	for _, e := range evs {
		if slices.Contains(inc.EventIDs, e.ID) && (at.IsZero() || e.ObservedAt.Before(at)) {
			at = e.ObservedAt
		}
	}
	if at.IsZero() {
		return inc.OpenedAt, nil
	}
	return at, nil
}

func secondsOf(d time.Duration) int64 { return int64(d.Round(time.Second) / time.Second) }
