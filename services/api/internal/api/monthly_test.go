package api_test

import (
	"bytes"
	"encoding/csv"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/services/api/internal/api"
	"github.com/riverwatch/riverwatch/services/api/internal/api/apitest"
)

// monthlyEnv holds April and May 2026 (the clock is 15 June), worked by hand:
//
//	STH-S1 (Ⅲ)  April NH3-N 1.2 (Ⅳ)  May 0.8 (Ⅲ): better, meets
//	STH-S2 (Ⅲ)  April NH3-N 0.4 (Ⅱ)  May 1.8 (Ⅴ): worse, fails, 氨氮(0.8)
//	STH-D1 (Ⅱ source)                May 0.4 (Ⅱ): meets, no month before
//	TTH-S2 (Ⅲ)                       May phenol 0.01L → 0.005 (Ⅲ): meets, a non-detect
//
// and the other four sections and sources without data: 8 sites, 4 rated, 3 meeting.
// Incidents: santun 20 May (resolved 21 May), toutun 28 May (open), santun 30 April (the
// month before), a drill on santun 10 May.
func monthlyEnv(t *testing.T) *env {
	t.Helper()
	st := apitest.NewMemStore()
	e := newEnv(t, func(o *api.Options) { o.Store = st })
	rs, incs := monthlySeed(e.net.Location)
	st.AddReadings(rs...)
	for _, inc := range incs {
		st.PutIncident(inc)
	}
	return e
}

// monthlySeed is monthlyEnv's data, for any store. The readings of May at STH-S1 add an
// automatic NH3-N hour of 0.8 beside the manual sample of 0.8, so the month is the same
// whichever takes precedence, and a manual sample is set aside.
func monthlySeed(loc *time.Location) ([]message.Reading, []message.Incident) {
	var rs []message.Reading
	add := func(site, param string, m time.Month, v float64, belowDL bool) {
		at := time.Date(2026, m, 10, 8, 0, 0, 0, loc)
		rs = append(rs, message.Reading{ID: message.ReadingID(site, param, message.IntervalSample, at), Site: site, Parameter: param,
			Value: v, Unit: "mg/L", Interval: message.IntervalSample, Flag: "N", ObservedAt: at, ReceivedAt: at, Source: message.SourceCSV, BelowDL: belowDL})
	}
	add("STH-S1", "nh3n", time.April, 1.2, false)
	add("STH-S1", "nh3n", time.May, 0.8, false)
	auto := time.Date(2026, time.May, 12, 8, 0, 0, 0, loc)
	rs = append(rs, message.Reading{ID: message.ReadingID("STH-S1", "nh3n", message.IntervalHour, auto), Site: "STH-S1", Parameter: "nh3n",
		Value: 0.8, Unit: "mg/L", Interval: message.IntervalHour, Flag: "N", ObservedAt: auto, ReceivedAt: auto, Source: message.SourceHJ212})
	add("STH-S2", "nh3n", time.April, 0.4, false)
	add("STH-S2", "nh3n", time.May, 1.8, false)
	add("STH-D1", "nh3n", time.May, 0.4, false)
	add("TTH-S2", "phenol", time.May, 0.01, true)
	day := func(m time.Month, d int) time.Time { return time.Date(2026, m, d, 12, 0, 0, 0, loc).UTC() }
	resolved := day(time.May, 21)
	incs := []message.Incident{
		{ID: "inc-santun", Version: 1, Title: "三屯河 氨氮超标", Status: message.IncidentResolved, Level: "IV", River: "santun", Site: "STH-S2",
			Parameters: []string{"nh3n"}, Jurisdictions: []string{"changji"}, OpenedAt: day(time.May, 20), ResolvedAt: &resolved, UpdatedAt: resolved},
		{ID: "inc-toutun", Version: 1, Title: "头屯河 石油类超标", Status: message.IncidentOpen, Level: "IV", River: "toutun", Site: "TTH-S2",
			Parameters: []string{"petroleum"}, Jurisdictions: []string{"urumqi"}, OpenedAt: day(time.May, 28), UpdatedAt: day(time.May, 28)},
		{ID: "inc-april", Version: 1, Title: "四月", Status: message.IncidentResolved, Level: "IV", River: "santun", Site: "STH-S2",
			Parameters: []string{"nh3n"}, Jurisdictions: []string{"changji"}, OpenedAt: day(time.April, 30), ResolvedAt: &resolved, UpdatedAt: resolved},
		{ID: "drill-may", Version: 1, Title: "【演练】三屯河", Status: message.IncidentResolved, Level: "IV", River: "santun", Site: "STH-S1",
			Parameters: []string{"nh3n"}, Jurisdictions: []string{"changji"}, Drill: true, OpenedAt: day(time.May, 10), ResolvedAt: &resolved, UpdatedAt: resolved},
	}
	return rs, incs
}

// checkMonthlyMay holds the report of May 2026 to monthlyEnv's hand-worked figures.
func checkMonthlyMay(t *testing.T, rep api.MonthlyReport) {
	t.Helper()
	if rep.Month != "2026-05" || !rep.Complete || rep.Scope != "city" || rep.Assessment != api.AssessMonthly {
		t.Errorf("month %s complete %v scope %s assessment %s", rep.Month, rep.Complete, rep.Scope, rep.Assessment)
	}
	sites := map[string]api.MonthlySite{}
	for _, ms := range rep.Sites {
		sites[ms.Compliance.Site] = ms
	}
	cases := []struct {
		site, class, previous, change string
		meets                         *bool
	}{
		{"STH-S1", "III", "IV", api.ChangeBetter, ptr(true)},
		{"STH-S2", "V", "II", api.ChangeWorse, ptr(false)},
		{"STH-D1", "II", "", "", ptr(true)},
		{"TTH-S2", "III", "", "", ptr(true)},
		{"STH-S3", "", "", "", nil},
	}
	for _, c := range cases {
		ms := sites[c.site]
		sc := ms.Compliance
		if sc.Class != c.class || ms.PreviousClass != c.previous || ms.Change != c.change || !eqPtr(sc.MeetsTarget, c.meets) {
			t.Errorf("%s: class %q previous %q change %q meets %v; want %q %q %q %v", c.site, sc.Class, ms.PreviousClass, ms.Change,
				sc.MeetsTarget, c.class, c.previous, c.change, c.meets)
		}
	}
	if sc := sites["STH-S1"].Compliance; sc.DataSource != api.DataSourceAutomatic || sc.ManualSetAside != 1 {
		t.Errorf("STH-S1 source %q set aside %d, want automatic with the manual NH3-N sample set aside", sc.DataSource, sc.ManualSetAside)
	}
	if nd := sites["TTH-S2"].Compliance.NonDetects; len(nd) != 1 || nd[0].Text != "挥发酚 0.01L" {
		t.Errorf("TTH-S2 non-detects %+v, want 挥发酚 0.01L", nd)
	}
	if mp := sites["STH-S2"].Compliance.MainPollutants; mp != "氨氮(0.8)" {
		t.Errorf("STH-S2 main pollutants %q, want 氨氮(0.8)", mp)
	}
	want := api.MonthlySummary{Sites: 8, Rated: 4, Meeting: 3, NoData: 4, Improved: 1, Worse: 1, Incidents: 2, Drills: 1, OpenAtEnd: 1,
		NonDetects: 1, ManualAside: 1}
	got := rep.Summary
	share := got.MeetingShare
	got.MeetingShare = nil
	if got != want || share == nil || *share != 0.75 {
		t.Errorf("summary %+v share %v, want %+v share 0.75", got, share, want)
	}
	var classes []string
	for _, c := range rep.Classes {
		classes = append(classes, c.Class+":"+itoa(c.Sites))
	}
	if !slices.Equal(classes, []string{"I:0", "II:1", "III:2", "IV:0", "V:1", "劣V:0"}) {
		t.Errorf("classes %v", classes)
	}
	var ids []string
	for _, inc := range rep.Incidents {
		ids = append(ids, inc.ID)
	}
	if !slices.Equal(ids, []string{"inc-santun", "inc-toutun"}) || len(rep.Drills) != 1 || rep.Drills[0].Incident != "drill-may" {
		t.Errorf("incidents %v drills %+v, want the two of May oldest first and the drill", ids, rep.Drills)
	}
	if len(rep.Indicators) != 5 || rep.Indicators[0].Of != 3 || rep.Indicators[0].Count != 2 {
		t.Errorf("indicators %+v, want 5 with sections Ⅲ or better 2 of 3", rep.Indicators)
	}
}

func TestTheMonthlyReportGivesEachSitesMonthBesideTheMonthBefore(t *testing.T) {
	e := monthlyEnv(t)
	var rep api.MonthlyReport
	e.do(t, "GET", "/api/v1/reports/monthly?month=2026-05", admin, nil).decode(t, &rep)
	checkMonthlyMay(t, rep)
}

func TestTheMonthlyReportOfOneRiverHasOnlyItsSitesIncidentsAndDrills(t *testing.T) {
	e := monthlyEnv(t)
	cases := []struct {
		river                              string
		sites, rated, meeting, inc, drills int
		open                               int
	}{
		{"santun", 5, 3, 2, 1, 1, 0},
		{"toutun", 3, 1, 1, 1, 0, 1},
	}
	for _, c := range cases {
		t.Run(c.river, func(t *testing.T) {
			var rep api.MonthlyReport
			e.do(t, "GET", "/api/v1/reports/monthly?month=2026-05&river="+c.river, admin, nil).decode(t, &rep)
			s := rep.Summary
			if rep.Scope != c.river || s.Sites != c.sites || s.Rated != c.rated || s.Meeting != c.meeting || s.Incidents != c.inc ||
				s.Drills != c.drills || s.OpenAtEnd != c.open || len(rep.Rivers) != 1 || rep.Rivers[0].River != c.river {
				t.Errorf("scope %s summary %+v rivers %d", rep.Scope, s, len(rep.Rivers))
			}
		})
	}
}

func TestTheMonthlyReportRefusesAMonthItCannotReport(t *testing.T) {
	e := monthlyEnv(t)
	cases := []struct {
		name, query string
		status      int
	}{
		{"a month not begun", "month=2026-07", http.StatusBadRequest},
		{"no thirteenth month", "month=2026-13", http.StatusBadRequest},
		{"not YYYY-MM", "month=2026-5", http.StatusBadRequest},
		{"before 2000", "month=1999-12", http.StatusBadRequest},
		{"a river not in the network", "river=nile", http.StatusNotFound},
		{"the running month is served", "month=2026-06", http.StatusOK},
		{"no month is this month", "", http.StatusOK},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := e.do(t, "GET", "/api/v1/reports/monthly?"+c.query, admin, nil)
			if res.status != c.status {
				t.Fatalf("status %d, want %d: %s", res.status, c.status, res.body)
			}
			if c.status == http.StatusOK {
				var rep api.MonthlyReport
				res.decode(t, &rep)
				if rep.Month != "2026-06" || rep.Complete {
					t.Errorf("month %s complete %v, want the running 2026-06", rep.Month, rep.Complete)
				}
			}
		})
	}
}

func TestTheMonthlyCSVHasTheReportsFigures(t *testing.T) {
	e := monthlyEnv(t)
	res := e.do(t, "GET", "/api/v1/reports/monthly?month=2026-05&format=csv", admin, nil)
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(res.body, []byte("\uFEFF")))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rows[0], []string{"month", "scope", "row", "id", "name", "target", "class", "previous_class", "meets_target", "value", "detail", "data_status"}) {
		t.Fatalf("header %v", rows[0])
	}
	find := func(kind, id string) []string {
		for _, r := range rows[1:] {
			if r[2] == kind && r[3] == id {
				return r
			}
		}
		return nil
	}
	cases := []struct {
		kind, id string
		col      int
		want     string
	}{
		{"summary", "meeting", 9, "3/4"},
		{"summary", "meeting", 10, "0.75"},
		{"summary", "incidents", 9, "2"},
		{"site", "STH-S1", 6, "Ⅲ"},
		{"site", "STH-S1", 7, "Ⅳ"},
		{"site", "STH-S2", 8, "false"},
		{"site", "STH-S2", 10, "氨氮(0.8)"},
		{"site", "TTH-S2", 10, "未检出：挥发酚 0.01L"},
		{"site", "STH-S3", 11, api.DataNone},
		{"class", "III", 9, "2"},
		{"incident", "inc-toutun", 11, message.IncidentOpen},
		{"drill", "drill-may", 11, message.IncidentResolved},
	}
	for _, c := range cases {
		r := find(c.kind, c.id)
		if r == nil || r[c.col] != c.want {
			t.Errorf("%s %s column %d: row %v, want %q", c.kind, c.id, c.col, r, c.want)
		}
	}
}
