package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/store/storetest"
	"github.com/riverwatch/riverwatch/services/api/internal/api"
)

// verdict is a prediction.verified or prediction.refuted of a reach: the plume rose at
// arrival + late (value: the peak seen), or never (value 0, observed when the band passed).
func verdict(typ, from, to string, arrival time.Time, late time.Duration, value float64) message.Event {
	observed := arrival.Add(late)
	return message.Event{
		ID: message.EventID(typ, to, "nh3n", arrival, from), Type: typ, Site: to, Parameter: "nh3n", Value: value,
		ObservedAt: observed, EmittedAt: observed.Add(time.Minute), OriginSite: from, ArrivalAt: arrival,
		PredictedValue: 0.9, DistanceKm: 12,
	}
}

// seedVerdicts stores the worked example of docs/plume.md ("Skill per reach") and its
// neighbours.
func seedVerdicts(e *env) {
	day := time.Date(2026, 6, 10, 0, 0, 0, 0, time.UTC)
	h := func(n int) time.Time { return day.Add(time.Duration(n) * time.Hour) }
	e.store.AddEvents(
		// STH-S2 → STH-D2 (changji): +30, −20, +90 min; one that never rose.
		verdict(message.EventPredictionVerified, "STH-S2", "STH-D2", h(2), 30*time.Minute, 0.9),
		verdict(message.EventPredictionVerified, "STH-S2", "STH-D2", h(5), -20*time.Minute, 1.1),
		verdict(message.EventPredictionRefuted, "STH-S2", "STH-D2", h(26), 90*time.Minute, 0.8),
		verdict(message.EventPredictionRefuted, "STH-S2", "STH-D2", h(50), 4*time.Hour, 0),
		// TTH-S2 (urumqi) → TTH-S3 (changji): +12 min.
		verdict(message.EventPredictionVerified, "TTH-S2", "TTH-S3", h(8), 12*time.Minute, 2.0),
		// TTH-S1 → TTH-S2: urumqi's, not changji's.
		verdict(message.EventPredictionVerified, "TTH-S1", "TTH-S2", h(9), 6*time.Minute, 2.0),
		// Before the default 30 days: not counted.
		verdict(message.EventPredictionRefuted, "STH-S2", "STH-D2", day.AddDate(0, 0, -40), time.Hour, 0.7),
	)
}

type reachSkill struct {
	FromSite     string   `json:"from_site"`
	FromSiteName string   `json:"from_site_name"`
	ToSite       string   `json:"to_site"`
	ToSiteName   string   `json:"to_site_name"`
	River        string   `json:"river"`
	Checked      int      `json:"checked"`
	Verified     int      `json:"verified"`
	Refuted      int      `json:"refuted"`
	HitRate      float64  `json:"hit_rate"`
	Timed        int      `json:"timed"`
	Mean         *float64 `json:"mean_timing_error_min"`
	MeanAbs      *float64 `json:"mean_abs_timing_error_min"`
}

func (r reachSkill) String() string {
	f := func(p *float64) string {
		if p == nil {
			return "null"
		}
		return fmt.Sprint(*p)
	}
	return fmt.Sprintf("%s→%s checked %d verified %d refuted %d hit %v timed %d mean %s abs %s",
		r.FromSite, r.ToSite, r.Checked, r.Verified, r.Refuted, r.HitRate, r.Timed, f(r.Mean), f(r.MeanAbs))
}

func TestPredictionSkillIsCountedPerReachFromTheVerdicts(t *testing.T) {
	for _, tc := range []struct {
		name, token, query string
		want               []string // hand-computed: docs/plume.md, "Skill per reach"
	}{
		{
			name: "changji sees the reaches that end in it", token: viewerChangji,
			want: []string{
				"STH-S2→STH-D2 checked 4 verified 2 refuted 2 hit 0.5 timed 3 mean 33.3 abs 46.7",
				"TTH-S2→TTH-S3 checked 1 verified 1 refuted 0 hit 1 timed 1 mean 12 abs 12",
			},
		},
		{
			name: "an admin sees every reach", token: admin,
			want: []string{
				"STH-S2→STH-D2 checked 4 verified 2 refuted 2 hit 0.5 timed 3 mean 33.3 abs 46.7",
				"TTH-S1→TTH-S2 checked 1 verified 1 refuted 0 hit 1 timed 1 mean 6 abs 6",
				"TTH-S2→TTH-S3 checked 1 verified 1 refuted 0 hit 1 timed 1 mean 12 abs 12",
			},
		},
		{
			name: "the period leaves out the first day", token: viewerChangji, query: "?from=2026-06-11T00:00:00Z",
			want: []string{
				// +90 min and one never seen: timed 1.
				"STH-S2→STH-D2 checked 2 verified 0 refuted 2 hit 0 timed 1 mean 90 abs 90",
			},
		},
		{
			name: "a reach whose verdicts all lack a rise has no timing", token: viewerChangji,
			query: "?from=2026-06-12T00:00:00Z&to=2026-06-13T00:00:00Z",
			want:  []string{"STH-S2→STH-D2 checked 1 verified 0 refuted 1 hit 0 timed 0 mean null abs null"},
		},
		{
			name: "a period without verdicts has no reaches", token: viewerChangji, query: "?from=2026-06-14T00:00:00Z",
			want: []string{},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			seedVerdicts(e)
			res := e.do(t, "GET", "/api/v1/predictions/skill"+tc.query, tc.token, nil)
			if res.status != http.StatusOK {
				t.Fatalf("status %d: %s", res.status, res.body)
			}
			var got struct {
				From, To time.Time
				Reaches  []reachSkill `json:"reaches"`
			}
			res.decode(t, &got)
			var lines []string
			for _, r := range got.Reaches {
				lines = append(lines, r.String())
			}
			if fmt.Sprint(lines) != fmt.Sprint(tc.want) {
				t.Errorf("reaches:\n%v\nwant\n%v", lines, tc.want)
			}
		})
	}
}

func TestPredictionSkillNamesTheReachesSites(t *testing.T) {
	e := newEnv(t)
	seedVerdicts(e)
	res := e.do(t, "GET", "/api/v1/predictions/skill", viewerChangji, nil)
	var got struct {
		From    time.Time    `json:"from"`
		To      time.Time    `json:"to"`
		Reaches []reachSkill `json:"reaches"`
	}
	res.decode(t, &got)
	if want := e.now.Add(-30 * 24 * time.Hour); !got.From.Equal(want) || !got.To.Equal(e.now) {
		t.Errorf("period %s – %s, want the last 30 days (%s – %s)", got.From, got.To, want, e.now)
	}
	if len(got.Reaches) == 0 {
		t.Fatalf("no reaches: %s", res.body)
	}
	r := got.Reaches[0]
	from, _ := e.net.Site(r.FromSite)
	to, _ := e.net.Site(r.ToSite)
	if r.FromSiteName != from.Name || r.ToSiteName != to.Name || r.River != "santun" {
		t.Errorf("reach %s named %q → %q on %q, want %q → %q on santun", r, r.FromSiteName, r.ToSiteName, r.River, from.Name, to.Name)
	}
}

func TestAPIShowsMultiplesRoundedAsTheMethodPrintsThem(t *testing.T) {
	e := newEnv(t)
	at := e.now.Add(-time.Hour)
	e.store.AddEvents(message.Event{
		ID: "ev-round", Type: message.EventExceedanceOpened, Site: "STH-S1", Parameter: "nh3n", Value: 1.6, Limit: 1,
		TargetClass: "III", Class: "V", Multiple: (1.6 - 1.0) / 1.0, Severity: "warning", ObservedAt: at, EmittedAt: at,
	})
	for _, path := range []string{"/api/v1/events?site=STH-S1&type=exceedance.opened", "/api/v1/sites/STH-S1"} {
		res := e.do(t, "GET", path, viewerChangji, nil)
		if res.status != http.StatusOK {
			t.Fatalf("%s: status %d: %s", path, res.status, res.body)
		}
		var raw map[string]json.RawMessage
		res.decode(t, &raw)
		var evs []message.Event
		if items, ok := raw["items"]; ok {
			_ = json.Unmarshal(items, &evs)
		} else {
			_ = json.Unmarshal(raw["exceedances"], &evs)
		}
		found := false
		for _, ev := range evs {
			if ev.ID == "ev-round" {
				found = true
				if ev.Multiple != 0.6 {
					t.Errorf("%s: multiple %v, want 0.6", path, ev.Multiple)
				}
			}
		}
		if !found {
			t.Errorf("%s: no event ev-round in %s", path, truncate(res.body))
		}
		if strings.Contains(string(res.body), "0.6000000000000001") {
			t.Errorf("%s answers an unrounded multiple: %s", path, truncate(res.body))
		}
	}
}

// measuredVerdicts are STH-S2 → STH-D2's verdicts with the verification's errors
// (docs/plume.md, "Skill per reach", the second example): rise +20, −5 and +60 min; the
// peak seen in the first two (−10 and +15 min, +0.2 and −0.05 mg/L), the fall in the first
// (+30 min); a refutation that never rose, and a verdict from before migration 11 (timed,
// no errors).
func measuredVerdicts() []message.Event {
	day := time.Date(2026, 6, 10, 0, 0, 0, 0, time.UTC)
	h := func(n int) time.Time { return day.Add(time.Duration(n) * time.Hour) }
	with := func(ev message.Event, v message.Verification) message.Event {
		v.Threshold, v.Peak = 0.65, ev.Value
		v.RiseAt = ev.ObservedAt
		ev.Verification = v
		return ev
	}
	return []message.Event{
		with(verdict(message.EventPredictionVerified, "STH-S2", "STH-D2", h(2), 30*time.Minute, 0.9), message.Verification{Outcome: "verified",
			RiseErrorS: 1200, PeakAt: h(4), PeakTimeErrorS: -600, PeakError: 0.2, FallAt: h(6), DurationErrorS: 1800}),
		with(verdict(message.EventPredictionVerified, "STH-S2", "STH-D2", h(5), -20*time.Minute, 1.1), message.Verification{Outcome: "verified",
			RiseErrorS: -300, PeakAt: h(6), PeakTimeErrorS: 900, PeakError: -0.05}),
		with(verdict(message.EventPredictionRefuted, "STH-S2", "STH-D2", h(26), 90*time.Minute, 0.8), message.Verification{Outcome: "refuted",
			RiseErrorS: 3600}),
		with(verdict(message.EventPredictionRefuted, "STH-S2", "STH-D2", h(50), 4*time.Hour, 0), message.Verification{Outcome: "refuted"}),
		verdict(message.EventPredictionVerified, "STH-S2", "STH-D2", h(60), 10*time.Minute, 1.0),
	}
}

func TestPredictionSkillReportsTheVerificationsErrorsPerReach(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  func(t *testing.T) *env
	}{
		{"in memory", func(t *testing.T) *env {
			e := newEnv(t)
			e.store.AddEvents(measuredVerdicts()...)
			return e
		}},
		{"on ClickHouse", func(t *testing.T) *env {
			a := storetest.NewArchive(t)
			a.Events(t, measuredVerdicts()...)
			return newEnv(t, func(o *api.Options) { o.Store = a.Reader })
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := tc.env(t)
			res := e.do(t, "GET", "/api/v1/predictions/skill", viewerChangji, nil)
			if res.status != http.StatusOK {
				t.Fatalf("status %d: %s", res.status, res.body)
			}
			var got struct {
				Reaches []map[string]any `json:"reaches"`
			}
			res.decode(t, &got)
			if len(got.Reaches) != 1 {
				t.Fatalf("reaches %v, want STH-S2 → STH-D2's", got.Reaches)
			}
			r := got.Reaches[0]
			// Hand-computed: timed 4 (all but the one that never rose), measured 3; rise
			// (20 − 5 + 60)/3 = 25, |·| (20 + 5 + 60)/3 = 28.3; peak time (−10 + 15)/2 = 2.5,
			// peak (0.2 − 0.05)/2 = 0.075; duration 30.
			want := map[string]any{"checked": 5.0, "timed": 4.0, "measured": 3.0, "mean_rise_error_min": 25.0, "mean_abs_rise_error_min": 28.3,
				"mean_peak_time_error_min": 2.5, "mean_peak_error": 0.075, "mean_duration_error_min": 30.0}
			for k, w := range want {
				if r[k] != w {
					t.Errorf("%s = %v, want %v (reach %v)", k, r[k], w, r)
				}
			}
		})
	}
}
