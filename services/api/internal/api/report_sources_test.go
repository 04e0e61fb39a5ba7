package api_test

import (
	"bytes"
	"encoding/csv"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/services/api/internal/api"
	"github.com/riverwatch/riverwatch/services/api/internal/api/apitest"
)

// seedReading is one valid reading of STH-S1 in March 2026 (local days), automatic
// (hourly) or manual (lab), detected or a non-detect at the value as its limit.
type seedReading struct {
	param   string
	value   float64
	manual  bool
	belowDL bool
}

func seedMarch(t *testing.T, st *apitest.MemStore, loc *time.Location, rs []seedReading) {
	t.Helper()
	for i, r := range rs {
		at := time.Date(2026, 3, 10, 0, 0, 0, 0, loc).Add(time.Duration(i) * time.Hour)
		interval := message.IntervalHour
		if r.manual {
			interval = message.IntervalSample
		}
		st.AddReadings(message.Reading{ID: message.ReadingID("STH-S1", r.param, interval, at), Site: "STH-S1", Parameter: r.param,
			Value: r.value, Unit: "mg/L", Interval: interval, Flag: "N", ObservedAt: at, BelowDL: r.belowDL})
	}
}

// The report counts a non-detect at half its limit (环办监测函〔2020〕82号, point 7) and shows
// it: the limit with L when every reading was below it, a count otherwise. Volatile phenol's
// limits are Ⅰ–Ⅱ 0.002, Ⅲ 0.005, Ⅳ 0.01: "0.01L" counted as the limit would be Ⅳ, at half
// it is Ⅲ.
func TestTheComplianceReportCountsANonDetectAtHalfItsLimitAndShowsIt(t *testing.T) {
	cases := []struct {
		name     string
		readings []seedReading
		class    string
		want     []api.NonDetectItem
	}{
		{"two 0.01L phenol samples are Ⅲ (0.005), shown as 0.01L",
			[]seedReading{{"phenol", 0.01, true, true}, {"phenol", 0.01, true, true}, {"nh3n", 0.4, false, false}},
			"III", []api.NonDetectItem{{Parameter: "phenol", Name: "挥发酚", Readings: 2, NonDetects: 2, Limit: ptr(0.01), Text: "挥发酚 0.01L"}}},
		{"0.01L and 0.004 average 0.0045, Ⅲ, one of two not detected",
			[]seedReading{{"phenol", 0.01, true, true}, {"phenol", 0.004, true, false}, {"nh3n", 0.4, false, false}},
			"III", []api.NonDetectItem{{Parameter: "phenol", Name: "挥发酚", Readings: 2, NonDetects: 1, Text: "挥发酚 1/2 未检出"}}},
		{"a 0.003L phenol sample counts 0.0015 (Ⅰ): NH3-N keeps the site at Ⅱ",
			[]seedReading{{"phenol", 0.003, true, true}, {"nh3n", 0.4, false, false}},
			"II", []api.NonDetectItem{{Parameter: "phenol", Name: "挥发酚", Readings: 1, NonDetects: 1, Limit: ptr(0.003), Text: "挥发酚 0.003L"}}},
		{"no non-detect, none listed",
			[]seedReading{{"phenol", 0.004, true, false}, {"nh3n", 0.4, false, false}},
			"III", []api.NonDetectItem{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := apitest.NewMemStore()
			e := newEnv(t, func(o *api.Options) { o.Store = st })
			seedMarch(t, st, e.net.Location, c.readings)
			var rep api.ComplianceReport
			e.do(t, "GET", "/api/v1/reports/compliance?from=2026-03-01&to=2026-04-01", admin, nil).decode(t, &rep)
			sc := siteOf(rep.Months[0], "STH-S1")
			if sc.Class != c.class {
				t.Errorf("class %q, want %q", sc.Class, c.class)
			}
			if !slices.EqualFunc(sc.NonDetects, c.want, func(a, b api.NonDetectItem) bool {
				return a.Parameter == b.Parameter && a.Name == b.Name && a.Readings == b.Readings && a.NonDetects == b.NonDetects &&
					a.Text == b.Text && (a.Limit == nil) == (b.Limit == nil) && (a.Limit == nil || *a.Limit == *b.Limit)
			}) {
				t.Errorf("non-detects %+v, want %+v", sc.NonDetects, c.want)
			}
		})
	}
}

// Automatic data take precedence over manual samples for pH, DO, CODMn, NH3-N, TP and TN
// where a month has them (环办监测函〔2020〕82号); for the other items both count.
func TestAutomaticDataTakePrecedenceOverManualSamplesForTheAutomaticItems(t *testing.T) {
	cases := []struct {
		name                   string
		readings               []seedReading
		class, source          string
		auto, manual, setAside uint64
		setAsideItems          []string
	}{
		// Both: (3×0.4 + 1.8)/4 = 0.75, Ⅲ. Automatic first: 0.4, Ⅱ.
		{"automatic NH3-N sets the month's manual sample aside",
			[]seedReading{{"nh3n", 0.4, false, false}, {"nh3n", 0.4, false, false}, {"nh3n", 0.4, false, false}, {"nh3n", 1.8, true, false}},
			"II", api.DataSourceAutomatic, 3, 0, 1, []string{"nh3n"}},
		// 1.5 < 1.8 ≤ 2.0: Ⅴ.
		{"without automatic NH3-N the manual sample decides",
			[]seedReading{{"nh3n", 1.8, true, false}},
			"V", api.DataSourceManual, 0, 1, 0, []string{}},
		// COD is not measured automatically by the method's stations: (3×14 + 26)/4 = 17, Ⅲ.
		{"COD's manual sample counts beside the automatic ones",
			[]seedReading{{"cod", 14, false, false}, {"cod", 14, false, false}, {"cod", 14, false, false}, {"cod", 26, true, false}},
			"III", api.DataSourceMixed, 3, 1, 0, []string{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := apitest.NewMemStore()
			e := newEnv(t, func(o *api.Options) { o.Store = st })
			seedMarch(t, st, e.net.Location, c.readings)
			var rep api.ComplianceReport
			e.do(t, "GET", "/api/v1/reports/compliance?from=2026-03-01&to=2026-04-01", admin, nil).decode(t, &rep)
			for _, p := range []api.PeriodReport{rep.Months[0], rep.Period} {
				sc := siteOf(p, "STH-S1")
				if sc.Class != c.class || sc.DataSource != c.source || sc.AutomaticReadings != c.auto || sc.ManualReadings != c.manual ||
					sc.ManualSetAside != c.setAside || !slices.Equal(sc.SetAsideItems, c.setAsideItems) {
					t.Errorf("%s: class %q source %q automatic %d manual %d set aside %d %v; want %q %q %d %d %d %v", p.Label,
						sc.Class, sc.DataSource, sc.AutomaticReadings, sc.ManualReadings, sc.ManualSetAside, sc.SetAsideItems,
						c.class, c.source, c.auto, c.manual, c.setAside, c.setAsideItems)
				}
			}
			res := e.do(t, "GET", "/api/v1/reports/compliance?from=2026-03-01&to=2026-04-01&format=csv", admin, nil)
			rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(res.body, []byte("\uFEFF")))).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if got := rows[0][15:20]; !slices.Equal(got, []string{"non_detects", "data_source", "automatic_readings", "manual_readings", "manual_set_aside"}) {
				t.Fatalf("csv header %v", rows[0])
			}
			for _, row := range rows[1:] {
				if row[0] == "2026-03" && row[1] == "site" && row[2] == "STH-S1" && (row[5] != romanOf(c.class) || row[16] != c.source) {
					t.Errorf("csv row %v: class %s, source %s", row, c.class, c.source)
				}
			}
		})
	}
}

// romanOf is the class's roman numeral as the report prints it.
func romanOf(class string) string {
	return map[string]string{"I": "Ⅰ", "II": "Ⅱ", "III": "Ⅲ", "IV": "Ⅳ", "V": "Ⅴ"}[class]
}

// A site's latest non-detect shows as the limit with below_dl, and is judged at half the
// limit: phenol "0.01L" is 0.005, Class Ⅲ (STH-S1's target met), not 0.01 (Ⅳ, missed); a
// detected 0.01 is Ⅳ.
func TestTheLatestNonDetectIsShownAsSuchAndJudgedAtHalfItsLimit(t *testing.T) {
	cases := []struct {
		name    string
		belowDL bool
		class   string
	}{
		{"0.01L is judged 0.005, Ⅲ", true, "III"},
		{"a detected 0.01 is Ⅳ", false, "IV"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := apitest.NewMemStore()
			e := newEnv(t, func(o *api.Options) { o.Store = st })
			at := e.now.Add(-time.Hour)
			st.AddReadings(message.Reading{ID: "p", Site: "STH-S1", Parameter: "phenol", Value: 0.01, Unit: "mg/L", Flag: "N",
				Interval: message.IntervalSample, ObservedAt: at, BelowDL: c.belowDL})
			var s api.SiteView
			e.do(t, "GET", "/api/v1/sites/STH-S1", admin, nil).decode(t, &s)
			if len(s.Latest) != 1 {
				t.Fatalf("latest %+v", s.Latest)
			}
			l := s.Latest[0]
			if l.Value != 0.01 || l.BelowDL != c.belowDL || l.Class != c.class || s.Class != c.class {
				t.Errorf("latest %+v, site class %q; want value 0.01 below_dl %v class %s", l, s.Class, c.belowDL, c.class)
			}
		})
	}
}

// A raw non-detect is served with below_dl and its limit, in JSON and CSV; the hourly bucket
// counts it at half the limit: 0.01L and 0.004 in one hour are a mean of 0.0045.
func TestReadingsServeANonDetectAsSuchAndBucketsCountHalfItsLimit(t *testing.T) {
	st := apitest.NewMemStore()
	e := newEnv(t, func(o *api.Options) { o.Store = st })
	hour := e.now.Truncate(time.Hour).Add(-2 * time.Hour)
	for i, r := range []struct {
		v       float64
		belowDL bool
	}{{0.01, true}, {0.004, false}} {
		at := hour.Add(time.Duration(i+1) * 10 * time.Minute)
		st.AddReadings(message.Reading{ID: message.ReadingID("STH-S1", "phenol", message.IntervalSample, at), Site: "STH-S1", Parameter: "phenol",
			Value: r.v, Unit: "mg/L", Interval: message.IntervalSample, Flag: "N", ObservedAt: at, BelowDL: r.belowDL})
	}
	from := hour.Format(time.RFC3339)
	cases := []struct {
		resolution string
		want       []api.Point
	}{
		{"raw", []api.Point{{Value: 0.01, Count: 1, BelowDL: true}, {Value: 0.004, Count: 1}}},
		{"hour", []api.Point{{Value: 0.0045, Count: 2}}},
	}
	for _, c := range cases {
		t.Run(c.resolution, func(t *testing.T) {
			var body api.ReadingsResponse
			e.do(t, "GET", "/api/v1/sites/STH-S1/readings?parameter=phenol&resolution="+c.resolution+"&from="+from, admin, nil).decode(t, &body)
			if len(body.Series) != 1 || len(body.Series[0].Points) != len(c.want) {
				t.Fatalf("series %+v", body.Series)
			}
			for i, p := range body.Series[0].Points {
				w := c.want[i]
				if math.Abs(p.Value-w.Value) > 1e-12 || p.Count != w.Count || p.BelowDL != w.BelowDL {
					t.Errorf("point %d: %+v, want value %v count %d below_dl %v", i, p, w.Value, w.Count, w.BelowDL)
				}
			}
		})
	}
	res := e.do(t, "GET", "/api/v1/sites/STH-S1/readings?format=csv&parameter=phenol&resolution=raw&from="+from, admin, nil)
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(res.body, []byte("\uFEFF")))).ReadAll()
	if err != nil || len(rows) != 3 {
		t.Fatalf("csv: %v %s", err, res.body)
	}
	if rows[0][11] != "below_dl" || rows[1][11] != "true" || rows[2][11] != "" || rows[1][6] != "0.01" {
		t.Errorf("csv %v: the non-detect 0.01 with below_dl true, the detected value without", rows)
	}
}

func TestAutomaticFirstNamesTheAutomaticStationsItems(t *testing.T) {
	for param, want := range map[string]bool{"ph": true, "do": true, "codmn": true, "nh3n": true, "tp": true, "tn": true,
		"cod": false, "phenol": false, "temp": false, "turbidity": false} {
		if got := api.AutomaticFirst(param); got != want {
			t.Errorf("AutomaticFirst(%q) = %v, want %v", param, got, want)
		}
	}
}
