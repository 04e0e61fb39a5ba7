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

// seedSite stores automatic hourly readings of one site on 10 March 2026 (local), one an hour.
func seedSite(t *testing.T, st *apitest.MemStore, loc *time.Location, site string, values map[string]float64) {
	t.Helper()
	i := 0
	for _, p := range sortedParams(values) {
		at := time.Date(2026, 3, 10, 0, 0, 0, 0, loc).Add(time.Duration(i) * time.Hour)
		unit := "mg/L"
		if p == "transparency" {
			unit = "m"
		}
		st.AddReadings(message.Reading{ID: message.ReadingID(site, p, message.IntervalHour, at), Site: site, Parameter: p,
			Value: values[p], Unit: unit, Interval: message.IntervalHour, Flag: "N", ObservedAt: at})
		i++
	}
}

func sortedParams(m map[string]float64) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// STH-D1 (努尔加水库, body: lake) gets its TLI(Σ): chlorophyll a 0.010 mg/L (10 mg/m³), TP 0.05,
// TN 1.0, SD 1.0 m, CODMn 4 are TLI(j) 50.006, 45.709, 54.53, 51.18, 37.979, weighted
// 0.2663, 0.1879, 0.1790, 0.1834, 0.1834: 48.018 → 48.0, 中营养 (pkg/evaluate's hand-worked
// case). Without transparency it is insufficient and names it; April, without a reading, is
// no_data; a river section has none. The range March–April is a quarterly assessment, which
// needs 2 months with data of each item: one month is short for all five (数据不足).
func TestAReservoirSourceShowsItsTLIOrTheItemsItLacks(t *testing.T) {
	full := map[string]float64{"chlorophyll": 0.010, "tp": 0.05, "tn": 1.0, "transparency": 1.0, "codmn": 4, "nh3n": 0.2}
	noSD := map[string]float64{"chlorophyll": 0.010, "tp": 0.05, "tn": 1.0, "codmn": 4, "nh3n": 0.2}
	cases := []struct {
		name      string
		values    map[string]float64
		status    string
		index     *float64
		grade     string
		gradeName string
		missing   []string
		csvGrade  string
		csvIndex  string
	}{
		{"all five items", full, api.DataRated, ptr(48.0), "mesotrophic", "中营养", []string{}, "mesotrophic", "48.0"},
		{"no transparency", noSD, api.DataInsufficient, nil, "", "", []string{"transparency"}, api.DataInsufficient, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := apitest.NewMemStore()
			e := newEnv(t, func(o *api.Options) { o.Store = st })
			seedSite(t, st, e.net.Location, "STH-D1", c.values)
			seedSite(t, st, e.net.Location, "STH-S1", map[string]float64{"nh3n": 0.2})
			var rep api.ComplianceReport
			e.do(t, "GET", "/api/v1/reports/compliance?from=2026-03-01&to=2026-05-01", admin, nil).decode(t, &rep)
			if ts := siteOf(rep.Period, "STH-D1").Trophic; ts == nil || ts.Status != api.DataInsufficient || ts.Index != nil || len(ts.Missing) != 5 {
				t.Errorf("the range: %+v, want insufficient_data, all five missing", ts)
			}
			for _, p := range []api.PeriodReport{rep.Months[0]} {
				ts := siteOf(p, "STH-D1").Trophic
				if ts == nil {
					t.Fatalf("%s: no trophic state for the reservoir", p.Label)
				}
				if ts.Status != c.status || !eqPtr(ts.Index, c.index) || ts.Grade != c.grade || ts.GradeName != c.gradeName || !slices.Equal(ts.Missing, c.missing) {
					t.Errorf("%s: %s %v %q %q missing %v; want %s %v %q %q %v", p.Label, ts.Status, ts.Index, ts.Grade, ts.GradeName, ts.Missing,
						c.status, c.index, c.grade, c.gradeName, c.missing)
				}
				if c.status == api.DataRated && (len(ts.Items) != 5 || ts.Items[0].Parameter != "chlorophyll" || ts.Items[0].TLI != 50.01 || ts.Items[0].Weight != 0.2663) {
					t.Errorf("%s: items %+v", p.Label, ts.Items)
				}
				if ts := siteOf(p, "STH-S1").Trophic; ts != nil {
					t.Errorf("%s: a river section has a trophic state %+v", p.Label, ts)
				}
			}
			if ts := siteOf(rep.Months[1], "STH-D1").Trophic; ts == nil || ts.Status != api.DataNone || ts.Index != nil || ts.Grade != "" {
				t.Errorf("April without readings: %+v, want no_data without a grade", ts)
			}
			res := e.do(t, "GET", "/api/v1/reports/compliance?from=2026-03-01&to=2026-05-01&format=csv", admin, nil)
			rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(res.body, []byte("\uFEFF")))).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if got := rows[0][20:23]; !slices.Equal(got, []string{"tli", "tli_grade", "tli_missing"}) {
				t.Fatalf("csv header %v", rows[0])
			}
			seen := 0
			for _, row := range rows[1:] {
				if row[1] != "site" || row[2] != "STH-D1" {
					continue
				}
				want := []string{c.csvIndex, c.csvGrade, ""}
				if c.status != api.DataRated {
					want[2] = "transparency"
				}
				switch row[0] {
				case "2026-04":
					want = []string{"", api.DataNone, "chlorophyll;tp;tn;transparency;codmn"}
				case "2026-03/2026-04":
					want = []string{"", api.DataInsufficient, "chlorophyll;tp;tn;transparency;codmn"}
				}
				if !slices.Equal(row[20:23], want) {
					t.Errorf("csv %s: %v, want %v", row[0], row[20:23], want)
				}
				seen++
			}
			if seen != 3 {
				t.Errorf("%d STH-D1 rows, want 3 (March, April, the range)", seen)
			}
			var mon api.MonthlyReport
			e.do(t, "GET", "/api/v1/reports/monthly?month=2026-03", admin, nil).decode(t, &mon)
			for _, ms := range mon.Sites {
				if ms.Compliance.Site == "STH-D1" && (ms.Compliance.Trophic == nil || ms.Compliance.Trophic.Status != c.status) {
					t.Errorf("monthly report: %+v", ms.Compliance.Trophic)
				}
			}
			res = e.do(t, "GET", "/api/v1/reports/monthly?month=2026-03&format=csv", admin, nil)
			rows, err = csv.NewReader(bytes.NewReader(bytes.TrimPrefix(res.body, []byte("\uFEFF")))).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			var trophic [][]string
			for _, row := range rows {
				if row[2] == "trophic" {
					trophic = append(trophic, row)
				}
			}
			wantDetail := c.gradeName
			if c.status != api.DataRated {
				wantDetail = "transparency"
			}
			if len(trophic) != 1 || trophic[0][3] != "STH-D1" || trophic[0][9] != c.csvIndex || trophic[0][10] != wantDetail || trophic[0][11] != c.status {
				t.Errorf("monthly csv trophic rows %v, want STH-D1 %q %q %s", trophic, c.csvIndex, wantDetail, c.status)
			}
		})
	}
}
