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
	if got := rows[0][10:15]; !slices.Equal(got, []string{"corrected_readings", "ph_min", "ph_max", "data_status", "insufficient_items"}) {
		t.Fatalf("csv header %v: the new columns after the existing ones", rows[0])
	}
	for _, row := range rows[1:] {
		if row[1] == "site" && row[2] == "STH-S1" && (row[11] != "5.6" || row[12] != "9.4" || row[13] != "rated") {
			t.Errorf("csv pH range %v", row)
		}
	}
}

func TestTheComplianceReportShowsAPeriodWithTooLittleDataAsSuch(t *testing.T) {
	// STH-S1 (target Ⅱ) has NH3-N 0.4 (Ⅱ) in the listed months of 2025, n readings each;
	// no other site has readings.
	cases := []struct {
		name       string
		from, to   string
		months     []int
		n          int
		min        api.MinData
		assessment string
		minData    int
		status     string
	}{
		{"a month may rest on one reading", "2025-03-01", "2025-04-01", []int{3}, 1, api.MinData{}, "monthly", 1, "rated"},
		{"a month short of a configured 3 readings", "2025-03-01", "2025-04-01", []int{3}, 2, api.MinData{Monthly: 3}, "monthly", 3, "insufficient_data"},
		{"a quarter with one month of data is too little", "2025-01-01", "2025-04-01", []int{2}, 30, api.MinData{}, "quarterly", 2, "insufficient_data"},
		{"a quarter with two months of data", "2025-01-01", "2025-04-01", []int{1, 3}, 1, api.MinData{}, "quarterly", 2, "rated"},
		{"a year with 7 months of data, however many readings", "2025-01-01", "2026-01-01", []int{1, 2, 3, 4, 5, 6, 7}, 100, api.MinData{}, "annual", 8, "insufficient_data"},
		{"a year with 8 months of data", "2025-01-01", "2026-01-01", []int{1, 2, 3, 4, 5, 6, 7, 8}, 1, api.MinData{}, "annual", 8, "rated"},
		{"half a year needs 8×6/12 = 4 months", "2025-01-01", "2025-07-01", []int{1, 2, 3, 4}, 1, api.MinData{}, "annual", 4, "rated"},
		{"half a year with 3 months is too little", "2025-01-01", "2025-07-01", []int{1, 2, 3}, 1, api.MinData{}, "annual", 4, "insufficient_data"},
		{"no readings at all is no data, not too little", "2025-01-01", "2025-04-01", nil, 0, api.MinData{}, "quarterly", 2, "no_data"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := apitest.NewMemStore()
			e := newEnv(t, func(o *api.Options) { o.Store = st; o.ReportMinData = c.min })
			loc := e.net.Location
			for _, m := range c.months {
				for i := range c.n {
					at := time.Date(2025, time.Month(m), 10, i%24, 0, 0, 0, loc).AddDate(0, 0, i/24)
					st.AddReadings(message.Reading{ID: at.String(), Site: "STH-S1", Parameter: "nh3n", Value: 0.4, Unit: "mg/L", Flag: "N", ObservedAt: at})
				}
			}
			var rep api.ComplianceReport
			e.do(t, "GET", "/api/v1/reports/compliance?from="+c.from+"&to="+c.to, admin, nil).decode(t, &rep)
			p := rep.Period
			if p.Assessment != c.assessment || p.MinData != c.minData {
				t.Errorf("assessment %s with min %d %s, want %s with %d", p.Assessment, p.MinData, p.MinDataUnit, c.assessment, c.minData)
			}
			sc := siteOf(p, "STH-S1")
			if want := uint64(len(c.months) * c.n); sc.Samples != want {
				t.Errorf("samples %d, want %d: every reading of the period, short items included", sc.Samples, want)
			}
			if sc.DataStatus != c.status {
				t.Fatalf("data status %q, want %q (%+v)", sc.DataStatus, c.status, sc)
			}
			var of int
			for _, in := range p.Indicators {
				if in.ID == "river_iii_or_better" {
					of = in.Of
				}
			}
			switch c.status {
			case "rated":
				if sc.Class != "II" || sc.MeetsTarget == nil || !*sc.MeetsTarget || len(sc.InsufficientItems) != 0 || of != 1 {
					t.Errorf("rated: class %q, meets %v, short %v, sections rated %d", sc.Class, sc.MeetsTarget, sc.InsufficientItems, of)
				}
			case "insufficient_data":
				if sc.Class != "" || sc.MeetsTarget != nil || !slices.Equal(sc.InsufficientItems, []string{"nh3n"}) || of != 0 {
					t.Errorf("数据不足: class %q, meets %v, short %v, sections rated %d; want no class, neither meeting nor failing", sc.Class, sc.MeetsTarget, sc.InsufficientItems, of)
				}
			}
		})
	}
}

func TestAnItemShortOfDataLeavesTheClassAndIsNamed(t *testing.T) {
	// A quarter: NH3-N 0.4 (Ⅱ) in all three months, one cyanide reading of 0.3 (劣Ⅴ) in
	// one month: cyanide is short of 2 months and does not make the quarter 劣Ⅴ.
	e, add := reportEnv(t)
	loc := e.net.Location
	for m := 1; m <= 3; m++ {
		add("STH-S1", "nh3n", time.Date(2025, time.Month(m), 10, 0, 0, 0, 0, loc), 0.4)
	}
	add("STH-S1", "cyanide", time.Date(2025, 2, 10, 0, 0, 0, 0, loc), 0.3)
	var rep api.ComplianceReport
	e.do(t, "GET", "/api/v1/reports/compliance?from=2025-01-01&to=2025-04-01", admin, nil).decode(t, &rep)
	if sc := siteOf(rep.Period, "STH-S1"); sc.Class != "II" || sc.DataStatus != "rated" || !slices.Equal(sc.InsufficientItems, []string{"cyanide"}) {
		t.Errorf("quarter: class %q, status %q, short %v; want II, rated, [cyanide]", sc.Class, sc.DataStatus, sc.InsufficientItems)
	}
	if sc := siteOf(rep.Months[1], "STH-S1"); sc.Class != "劣V" || len(sc.InsufficientItems) != 0 {
		t.Errorf("February alone: class %q, short %v; want 劣V from its cyanide reading", sc.Class, sc.InsufficientItems)
	}
}
