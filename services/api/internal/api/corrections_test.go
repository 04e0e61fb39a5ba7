package api_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"maps"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/services/api/internal/api"
)

const correctionsPath = "/api/v1/sites/STH-S2/readings/corrections"

// TestAnAdminsCorrectionReplacesTheValueAndIsListedWithWhoAndWhy: the corrected value is
// what the readings endpoint answers from then on, and the record names the admin, the
// reason and the value it replaced.
func TestAnAdminsCorrectionReplacesTheValueAndIsListedWithWhoAndWhy(t *testing.T) {
	e := newEnv(t)
	q := url.Values{"parameter": {"nh3n"}, "resolution": {"raw"},
		"from": {e.now.Add(-3 * time.Hour).Format(time.RFC3339)}, "to": {e.now.Format(time.RFC3339)}}
	var before api.ReadingsResponse
	e.do(t, "GET", "/api/v1/sites/STH-S2/readings?"+q.Encode(), admin, nil).decode(t, &before)
	if len(before.Series) != 1 || len(before.Series[0].Points) == 0 {
		t.Fatalf("seeded readings: %+v", before)
	}
	p := before.Series[0].Points[0]
	old := p.Value

	res := e.do(t, "POST", correctionsPath, admin, map[string]any{
		"parameter": "nh3n", "observed_at": p.T.Format(time.RFC3339Nano), "value": 0.123, "previous": old,
		"reason": "实验室比对：仪器漂移",
	})
	var cr api.CorrectionResponse
	res.decode(t, &cr)
	if res.status != 202 || cr.Status != "accepted" || cr.CorrectionID == "" || cr.ReadingID == "" {
		t.Fatalf("%d %s", res.status, res.body)
	}

	var after api.ReadingsResponse
	e.do(t, "GET", "/api/v1/sites/STH-S2/readings?"+q.Encode(), admin, nil).decode(t, &after)
	if got := after.Series[0].Points[0]; !got.T.Equal(p.T) || got.Value != 0.123 {
		t.Errorf("after the correction the reading at %s is %v, want 0.123 (was %v)", p.T, got.Value, old)
	}

	var list struct {
		Items []struct {
			ID, Reason, Actor string
			Previous          *float64
			Reading           struct{ Value float64 }
		}
	}
	e.do(t, "GET", correctionsPath, viewerChangji, nil).decode(t, &list)
	if len(list.Items) != 1 {
		t.Fatalf("listed %d corrections, want 1", len(list.Items))
	}
	c := list.Items[0]
	if c.ID != cr.CorrectionID || c.Reason != "实验室比对：仪器漂移" || c.Actor == "" || c.Previous == nil || *c.Previous != old || c.Reading.Value != 0.123 {
		t.Errorf("listed correction %+v", c)
	}
}

// TestACorrectionIsRefusedWithoutWhatTheRecordNeeds: each missing or malformed field is a
// 400 naming it, and nothing is published.
func TestACorrectionIsRefusedWithoutWhatTheRecordNeeds(t *testing.T) {
	e := newEnv(t)
	at := e.now.Add(-time.Hour).Format(time.RFC3339)
	cases := []struct {
		name string
		body map[string]any
		want string
	}{
		{"no reason", map[string]any{"parameter": "nh3n", "observed_at": at, "value": 1}, "reason"},
		{"blank reason", map[string]any{"parameter": "nh3n", "observed_at": at, "value": 1, "reason": "  "}, "reason"},
		{"reason too long", map[string]any{"parameter": "nh3n", "observed_at": at, "value": 1, "reason": strings.Repeat("x", 1001)}, "reason"},
		{"no value", map[string]any{"parameter": "nh3n", "observed_at": at, "reason": "r"}, "value"},
		{"no observation time", map[string]any{"parameter": "nh3n", "value": 1, "reason": "r"}, "observed_at"},
		{"unknown parameter", map[string]any{"parameter": "nh4", "observed_at": at, "value": 1, "reason": "r"}, "parameter"},
		{"unknown interval", map[string]any{"parameter": "nh3n", "interval": "week", "observed_at": at, "value": 1, "reason": "r"}, "interval"},
		{"bad flag", map[string]any{"parameter": "nh3n", "observed_at": at, "value": 1, "reason": "r", "flag": "Q"}, "flag"},
		{"unknown field", map[string]any{"parameter": "nh3n", "observed_at": at, "value": 1, "reason": "r", "site": "STH-S1"}, "site"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := e.do(t, "POST", correctionsPath, admin, c.body)
			if res.status != 400 || !strings.Contains(string(res.body), c.want) {
				t.Errorf("%d %s, want 400 naming %q", res.status, res.body, c.want)
			}
		})
	}
	stored, err := e.store.Corrections(context.Background(), api.CorrectionQuery{Site: "STH-S2", To: e.now.Add(time.Hour)})
	if err != nil || len(stored) != 0 {
		t.Errorf("%d corrections stored from refused requests (%v)", len(stored), err)
	}
}

// TestOnlyAnAdminCorrectsAndAFailedPublishIsUnavailable: responders and viewers of the
// site's own jurisdiction are refused; Kafka down is a 503 that does not say why.
func TestOnlyAnAdminCorrectsAndAFailedPublishIsUnavailable(t *testing.T) {
	e := newEnv(t)
	body := map[string]any{"parameter": "nh3n", "observed_at": e.now.Add(-time.Hour).Format(time.RFC3339), "value": 1, "reason": "r"}
	for _, tok := range []string{responderChangji, viewerChangji} {
		if res := e.do(t, "POST", correctionsPath, tok, body); res.status != 403 {
			t.Errorf("%s: %d %s, want 403", tok, res.status, res.body)
		}
	}
	e.applier.SendErr = errors.New("kafka: no brokers")
	res := e.do(t, "POST", correctionsPath, admin, body)
	if res.status != 503 || strings.Contains(string(res.body), "no brokers") {
		t.Errorf("publish failure: %d %s", res.status, res.body)
	}
}

// TestTheComplianceReportCountsTheCorrectedReadings: a reading corrected twice counts once,
// in its month and in the period, and only at its site.
func TestTheComplianceReportCountsTheCorrectedReadings(t *testing.T) {
	e := newEnv(t)
	at := e.now.Add(-2 * time.Hour).Truncate(time.Hour).Format(time.RFC3339)
	for _, v := range []float64{0.4, 0.45} {
		body := map[string]any{"parameter": "nh3n", "observed_at": at, "value": v, "reason": "lab re-analysis"}
		if res := e.do(t, "POST", correctionsPath, admin, body); res.status != 202 {
			t.Fatalf("correct: %d %s", res.status, res.body)
		}
	}
	var rep api.ComplianceReport
	e.do(t, "GET", "/api/v1/reports/compliance?from=2026-05-01&to=2026-07-01", admin, nil).decode(t, &rep)
	corrected := func(p api.PeriodReport) map[string]uint64 {
		out := map[string]uint64{}
		for _, s := range p.Sites {
			if s.CorrectedReadings > 0 {
				out[s.Site] = s.CorrectedReadings
			}
		}
		return out
	}
	if len(rep.Months) != 2 {
		t.Fatalf("%d months", len(rep.Months))
	}
	for _, c := range []struct {
		name string
		p    api.PeriodReport
		want map[string]uint64
	}{
		{"May", rep.Months[0], map[string]uint64{}},
		{"June", rep.Months[1], map[string]uint64{"STH-S2": 1}},
		{"the period", rep.Period, map[string]uint64{"STH-S2": 1}},
	} {
		if got := corrected(c.p); !maps.Equal(got, c.want) {
			t.Errorf("%s: corrected readings %v, want %v", c.name, got, c.want)
		}
	}
	res := e.do(t, "GET", "/api/v1/reports/compliance?from=2026-06-01&to=2026-07-01&format=csv", admin, nil)
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(res.body, []byte("\uFEFF")))).ReadAll()
	if err != nil || len(rows) < 2 {
		t.Fatalf("csv: %d rows, %v\n%s", len(rows), err, truncate(res.body))
	}
	col := slices.Index(rows[0], "corrected_readings")
	if col < 0 {
		t.Fatalf("csv header has no corrected_readings: %v", rows[0])
	}
	got := map[string]string{}
	for _, row := range rows[1:] {
		if row[1] == "site" && row[col] != "0" {
			got[row[2]] = row[col]
		}
	}
	if want := map[string]string{"STH-S2": "1"}; !maps.Equal(got, want) {
		t.Errorf("csv corrected_readings per site %v, want %v", got, want)
	}
}
