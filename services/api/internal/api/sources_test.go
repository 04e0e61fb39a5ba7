package api_test

import (
	"strings"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/store"
	"github.com/riverwatch/riverwatch/pkg/store/storetest"
	"github.com/riverwatch/riverwatch/services/api/internal/api"
)

// spillOpened is when the spill's incident at STH-S2 opened: ten days before the test
// env's now, so that the seeded hourly readings are far away.
var spillOpened = time.Date(2026, 6, 5, 4, 0, 0, 0, time.UTC)

// spill is an ammonia and phosphorus spill at the Changji wastewater plant's outfall
// (STH-O1, km 66 of the Santun, 0.6 m³/s), seen 4 km down at STH-S2 (km 70) 85 minutes
// later — the plume needs 4000 m ÷ 0.8 m/s = 83 min 20 s — while STH-S1 above the
// outfall and the source STH-D1 stay flat: real-time readings every 5 minutes over the
// 40 hours before the opening.
func spill() (message.Incident, []message.Reading) {
	var rs []message.Reading
	series := func(site, param string, base, high float64, from time.Time) {
		for t := spillOpened.Add(-40 * time.Hour); !t.After(spillOpened.Add(10 * time.Minute)); t = t.Add(5 * time.Minute) {
			v := base
			if !t.Before(from) {
				v = high
			}
			rs = append(rs, message.Reading{
				ID: message.ReadingID(site, param, message.IntervalRealtime, t), Site: site, Parameter: param, Value: v, Unit: "mg/L",
				Interval: message.IntervalRealtime, Flag: message.FlagNormal, ObservedAt: t, ReceivedAt: t.Add(time.Minute), Source: message.SourceHJ212,
			})
		}
	}
	never := spillOpened.Add(time.Hour)
	rise := spillOpened.Add(-5 * time.Minute)
	series("STH-S2", "nh3n", 0.3, 2.1, rise)
	series("STH-S2", "tp", 0.1, 0.2, rise)
	series("STH-O1", "nh3n", 1.0, 18, rise.Add(-85*time.Minute))
	series("STH-O1", "tp", 0.3, 1.4, rise.Add(-85*time.Minute))
	series("STH-O1", "flow", 0.6, 0.6, never)
	series("STH-S1", "nh3n", 0.4, 0.4, never)
	series("STH-S1", "tp", 0.1, 0.1, never)
	series("STH-D1", "nh3n", 0.1, 0.1, never)
	inc := message.Incident{
		ID: "inc-spill", Version: 1, Title: "三屯河城区下游断面 氨氮超标", Status: message.IncidentOpen, Level: "IV", Colour: "blue",
		Playbook: "section_exceedance", River: "santun", Site: "STH-S2", Sites: []string{"STH-S2"}, Parameters: []string{"nh3n"},
		Jurisdictions: []string{"changji", "xpcc6"}, EventIDs: []string{}, Steps: []message.Step{}, OpenedAt: spillOpened, UpdatedAt: spillOpened,
	}
	return inc, rs
}

// checkSpillRanking holds a sources answer to what the spill's readings say: the outfall
// first, with its evidence; the flat sites with nothing.
func checkSpillRanking(t *testing.T, e *env) {
	t.Helper()
	var rep api.SourcesReport
	res := e.do(t, "GET", "/api/v1/incidents/inc-spill/sources", viewerChangji, nil)
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
	inc, rs := spill()
	e.store.PutIncident(inc)
	e.store.AddReadings(rs...)
	checkSpillRanking(t, e)

	// xpcc6, downstream, sees the incident but none of the upstream sites: no candidate.
	var rep api.SourcesReport
	res := e.do(t, "GET", "/api/v1/incidents/inc-spill/sources", viewerXPCC6, nil)
	res.decode(t, &rep)
	if res.status != 200 || len(rep.Candidates) != 0 || strings.Contains(string(res.body), "STH-O1") {
		t.Errorf("xpcc6: %d %s, want 200 without changji's sites", res.status, res.body)
	}
	if res := e.do(t, "GET", "/api/v1/incidents/no-such/sources", viewerChangji, nil); res.status != 404 {
		t.Errorf("unknown incident: %d", res.status)
	}
}

func TestIncidentSourcesOnClickHouse(t *testing.T) {
	a := storetest.NewArchive(t)
	inc, rs := spill()
	storetest.Write(t, a, store.KindIncidents, storetest.UpdateIncidentID, message.IncidentUpdate{Kind: message.UpdateIncident, Incident: &inc})
	a.Readings(t, rs...)
	e := newEnv(t, func(o *api.Options) { o.Store = a.Reader })
	checkSpillRanking(t, e)
}
