package api_test

import (
	"bytes"
	"encoding/csv"
	"slices"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/services/api/internal/api"
	"github.com/riverwatch/riverwatch/services/api/internal/api/apitest"
)

// reportEnv serves the compliance report over a store holding only the readings added.
func reportEnv(t *testing.T) (*env, func(site, param string, day time.Time, vs ...float64)) {
	t.Helper()
	st := apitest.NewMemStore()
	e := newEnv(t, func(o *api.Options) { o.Store = st })
	add := func(site, param string, day time.Time, vs ...float64) {
		for i, v := range vs {
			at := day.Add(time.Duration(i) * time.Hour)
			st.AddReadings(message.Reading{ID: site + param + at.String(), Site: site, Parameter: param, Value: v, Unit: "", Flag: "N", ObservedAt: at})
		}
	}
	return e, add
}

func siteOf(p api.PeriodReport, id string) api.SiteCompliance {
	for _, s := range p.Sites {
		if s.Site == id {
			return s
		}
	}
	return api.SiteCompliance{}
}

func TestTheComplianceReportJudgesPHByItsRange(t *testing.T) {
	e, add := reportEnv(t)
	loc := e.net.Location
	// January: pH 5.6 and 9.4 (mean 7.5, in range) and NH3-N 0.4 (Ⅱ).
	add("STH-S1", "ph", time.Date(2026, 1, 10, 0, 0, 0, 0, loc), 5.6, 9.4)
	add("STH-S1", "nh3n", time.Date(2026, 1, 10, 0, 0, 0, 0, loc), 0.4)
	// February: pH 7.0 and 8.2, NH3-N 0.4: Ⅱ.
	add("STH-S1", "ph", time.Date(2026, 2, 10, 0, 0, 0, 0, loc), 7.0, 8.2)
	add("STH-S1", "nh3n", time.Date(2026, 2, 10, 0, 0, 0, 0, loc), 0.4)
	var rep api.ComplianceReport
	e.do(t, "GET", "/api/v1/reports/compliance?from=2026-01-01&to=2026-03-01", admin, nil).decode(t, &rep)
	if len(rep.Months) != 2 {
		t.Fatalf("%d months", len(rep.Months))
	}
	cases := []struct {
		name           string
		p              api.PeriodReport
		class          string
		phMin, phMax   float64
		mainPollutants string
	}{
		{"January: 5.6 and 9.4 are out of range although their mean is 7.5", rep.Months[0], "劣V", 5.6, 9.4, "pH值"},
		{"February: 7.0–8.2 is in range, NH3-N decides", rep.Months[1], "II", 7.0, 8.2, ""},
		{"the period spans both months' readings", rep.Period, "劣V", 5.6, 9.4, "pH值"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sc := siteOf(c.p, "STH-S1")
			if sc.Class != c.class || sc.MainPollutants != c.mainPollutants {
				t.Errorf("class %q, main pollutants %q; want %q, %q", sc.Class, sc.MainPollutants, c.class, c.mainPollutants)
			}
			if sc.PHMin == nil || sc.PHMax == nil || *sc.PHMin != c.phMin || *sc.PHMax != c.phMax {
				t.Errorf("pH range %v–%v, want %v–%v", sc.PHMin, sc.PHMax, c.phMin, c.phMax)
			}
			if sc.MeetsTarget == nil || *sc.MeetsTarget != (c.class == "II") {
				t.Errorf("meets target %v (target %s)", sc.MeetsTarget, sc.TargetClass)
			}
		})
	}
	if sc := siteOf(rep.Period, "STH-S2"); sc.PHMin != nil || sc.PHMax != nil {
		t.Errorf("a site without pH has a pH range: %v–%v", sc.PHMin, sc.PHMax)
	}

	res := e.do(t, "GET", "/api/v1/reports/compliance?from=2026-01-01&to=2026-02-01&format=csv", admin, nil)
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(res.body, []byte("\uFEFF")))).ReadAll()
	if err != nil || len(rows) < 2 {
		t.Fatalf("csv: %d rows, %v", len(rows), err)
	}
	if got := rows[0][11:13]; !slices.Equal(got, []string{"ph_min", "ph_max"}) || rows[0][10] != "corrected_readings" {
		t.Fatalf("csv header %v: ph_min, ph_max after the existing columns", rows[0])
	}
	for _, row := range rows[1:] {
		if row[1] == "site" && row[2] == "STH-S1" && (row[11] != "5.6" || row[12] != "9.4") {
			t.Errorf("csv pH range %v", row)
		}
	}
}
