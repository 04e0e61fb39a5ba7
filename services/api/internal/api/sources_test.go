package api_test

import (
	"strings"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/store"
	"github.com/riverwatch/riverwatch/pkg/store/storetest"
	"github.com/riverwatch/riverwatch/services/api/internal/api"
	"github.com/riverwatch/riverwatch/services/api/internal/api/apitest"
)

// spillOpened is when the spill's incident at STH-S2 opened (apitest.Spill): ten days
// before the test env's now, away from the seeded hourly readings.
var spillOpened = time.Date(2026, 6, 5, 4, 0, 0, 0, time.UTC)

// checkSpillRanking holds a sources answer to what the spill's readings say: the outfall
// first, with its evidence; the flat sites with nothing.
func checkSpillRanking(t *testing.T, e *env) {
	t.Helper()
	var rep api.SourcesReport
	res := e.do(t, "GET", "/api/v1/incidents/"+apitest.SpillIncident+"/sources", viewerChangji, nil)
	res.decode(t, &rep)
	if res.status != 200 {
		t.Fatalf("%d %s", res.status, res.body)
	}
	if rep.Lead != "nh3n" || !rep.Onset.Equal(spillOpened.Add(-5*time.Minute)) || len(rep.Rises) != 2 {
		t.Fatalf("lead %q onset %v rises %+v, want nh3n at 03:55 with nh3n and tp", rep.Lead, rep.Onset, rep.Rises)
	}
	if len(rep.Candidates) != 3 {
		t.Fatalf("%d candidates, want STH-O1, STH-S1 and STH-D1: %s", len(rep.Candidates), res.body)
	}
	top := rep.Candidates[0]
	if top.Site != "STH-O1" || top.Score < 0.9 || top.ObservedLagS == nil || *top.ObservedLagS != 85*60 || top.ExpectedLagS != 5000 {
		t.Errorf("first %s score %v observed lag %v expected %d, want STH-O1 over 0.9, 5100 s against 5000 s", top.Site, top.Score, top.ObservedLagS, top.ExpectedLagS)
	}
	ev := strings.Join(top.Evidence, "\n")
	for _, want := range []string{"nh3n rose here", "discharge 0.6 m³/s into 5 m³/s", "over its limit 5"} {
		if !strings.Contains(ev, want) {
			t.Errorf("STH-O1's evidence lacks %q:\n%s", want, ev)
		}
	}
	for _, c := range rep.Candidates[1:] {
		if c.Score != 0 || len(c.Evidence) == 0 {
			t.Errorf("%s: score %v, evidence %q; want 0 with a reason", c.Site, c.Score, c.Evidence)
		}
	}
}

func TestIncidentSourcesRankTheOutfallThatSpilledFirst(t *testing.T) {
	e := newEnv(t)
	apitest.SeedSpill(e.store, spillOpened)
	checkSpillRanking(t, e)

	// xpcc6, downstream, sees the incident but neither its site nor the upstream ones: no
	// ranking, none of changji's readings.
	var rep api.SourcesReport
	res := e.do(t, "GET", "/api/v1/incidents/"+apitest.SpillIncident+"/sources", viewerXPCC6, nil)
	res.decode(t, &rep)
	if res.status != 200 || len(rep.Candidates) != 0 || len(rep.Rises) != 0 || strings.Contains(string(res.body), "STH-O1") {
		t.Errorf("xpcc6: %d %s, want 200 without changji's sites and readings", res.status, res.body)
	}
	if res := e.do(t, "GET", "/api/v1/incidents/no-such/sources", viewerChangji, nil); res.status != 404 {
		t.Errorf("unknown incident: %d", res.status)
	}
}

func TestIncidentSourcesOnClickHouse(t *testing.T) {
	a := storetest.NewArchive(t)
	inc, rs, evs := apitest.Spill(spillOpened)
	storetest.Write(t, a, store.KindIncidents, storetest.UpdateIncidentID, message.IncidentUpdate{Kind: message.UpdateIncident, Incident: &inc})
	a.Readings(t, rs...)
	a.Events(t, evs...)
	e := newEnv(t, func(o *api.Options) { o.Store = a.Reader })
	checkSpillRanking(t, e)
}
