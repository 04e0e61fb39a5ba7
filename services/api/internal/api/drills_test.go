package api_test

import (
	"bytes"
	"encoding/csv"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/services/api/internal/api"
	"github.com/riverwatch/riverwatch/services/api/internal/api/apitest"
)

// drillEnv is the seeded API (now 2026-06-15 10:30 UTC) with apitest.SeedDrills' drills.
func drillEnv(t *testing.T) (*env, apitest.DrillFixture) {
	t.Helper()
	e := newEnv(t)
	return e, apitest.SeedDrills(e.store, e.now, e.net.Location)
}

func ptr[T any](v T) *T { return &v }

func eqPtr[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func show[T any](p *T) any {
	if p == nil {
		return "null"
	}
	return *p
}

func TestDrillListScoresEachStepFromTheIncidentRecord(t *testing.T) {
	e, fix := drillEnv(t)
	res := e.do(t, "GET", "/api/v1/drills?from=2026-01-01&to=2026-07-01", admin, nil)
	if res.status != 200 {
		t.Fatalf("status %d: %s", res.status, res.body)
	}
	var list api.DrillList
	res.decode(t, &list)
	var ids []string
	for _, d := range list.Drills {
		ids = append(ids, d.Incident)
	}
	// Newest first; the drill of 2025-H2 is outside the range, and Seed's real incidents
	// are not drills.
	if want := []string{fix.Running, fix.Outside, fix.Resolved}; !slices.Equal(ids, want) || list.Truncated {
		t.Fatalf("drills %v (truncated %v), want %v", ids, list.Truncated, want)
	}
	byID := map[string]api.DrillScore{}
	for _, d := range list.Drills {
		byID[d.Incident] = d
	}
	r := byID[fix.Resolved]
	if r.Jurisdiction != "changji" || !eqPtr(r.AckSeconds, ptr[int64](240)) || r.Met != 1 || r.Late != 1 || r.Missed != 1 || r.Pending != 0 ||
		r.MetShare == nil || *r.MetShare != 1.0/3 {
		t.Errorf("resolved drill: origin %s, ack %v, met/late/missed/pending %d/%d/%d/%d, share %v; want changji, 240 s, 1/1/1/0, 1/3",
			r.Jurisdiction, show(r.AckSeconds), r.Met, r.Late, r.Missed, r.Pending, show(r.MetShare))
	}
	running := byID[fix.Running]
	if running.Jurisdiction != "urumqi" || running.AckSeconds != nil || running.Pending != 1 || running.Missed != 1 || running.MetShare == nil || *running.MetShare != 0 {
		t.Errorf("running drill: %+v; want urumqi, no ack, 1 pending and 1 missed, share 0", running)
	}
	steps := map[string]api.DrillStepScore{}
	for _, d := range list.Drills {
		for _, s := range d.Steps {
			steps[s.Step] = s
		}
	}
	for _, tc := range []struct {
		name          string
		step          string
		assigned      time.Time
		receipt, done *int64
		deadline      int64
		outcome       string
	}{
		{"done within its hour is met", "a1", fix.ResolvedAt, ptr[int64](300), ptr[int64](3000), 3600, api.DeadlineMet},
		{"done after 40 of its 30 minutes is late", "a2", fix.ResolvedAt, ptr[int64](600), ptr[int64](2400), 1800, api.DeadlineLate},
		{"a step assigned later is timed from its assignment, and undone at the end is missed", "a3", fix.ResolvedAt.Add(20 * time.Minute), ptr[int64](900), nil, 6000, api.DeadlineMissed},
		{"undone with the deadline ahead of a running drill is pending", "c1", fix.RunningAt, ptr[int64](600), nil, 7200, api.DeadlinePending},
		{"undone after the deadline of a running drill is missed", "c2", fix.RunningAt, nil, nil, 3000, api.DeadlineMissed},
		{"another jurisdiction's drill is scored the same way", "d1", fix.OutsideAt, ptr[int64](300), ptr[int64](1500), 3600, api.DeadlineMet},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, ok := steps[tc.step]
			if !ok {
				t.Fatalf("no step %s", tc.step)
			}
			if !s.AssignedAt.Equal(tc.assigned) || !eqPtr(s.ReceiptSeconds, tc.receipt) || !eqPtr(s.DoneSeconds, tc.done) ||
				s.DeadlineSeconds != tc.deadline || s.Outcome != tc.outcome {
				t.Errorf("%s: assigned %s, receipt %v s, done %v s, deadline %d s, %s; want %s, %v, %v, %d, %s", tc.step,
					s.AssignedAt, show(s.ReceiptSeconds), show(s.DoneSeconds), s.DeadlineSeconds, s.Outcome,
					tc.assigned, show(tc.receipt), show(tc.done), tc.deadline, tc.outcome)
			}
		})
	}
}

// yearRow is what the year report should say of one jurisdiction, worked by hand from
// apitest.SeedDrills (2026: H1 is the latest half-year begun, 2025-H2 the one before).
type yearRow struct {
	drills, steps, met, late, missed, pending int
	share, receipt, ack, done                 *float64
	halfDrills, prevDrills                    int
	halfShare, prevShare, prevDone            *float64
	trend                                     string
}

func TestDrillYearReportGivesEachJurisdictionsMediansSharesAndTrend(t *testing.T) {
	e, _ := drillEnv(t)
	res := e.do(t, "GET", "/api/v1/reports/drills?year=2026", admin, nil)
	if res.status != 200 {
		t.Fatalf("status %d: %s", res.status, res.body)
	}
	var rep api.DrillYearReport
	res.decode(t, &rep)
	if rep.Year != 2026 || !rep.From.Equal(time.Date(2025, 12, 31, 16, 0, 0, 0, time.UTC)) {
		t.Errorf("year %d from %s", rep.Year, rep.From)
	}
	want := map[string]yearRow{
		// Its own drill (a1 met, a2 late; acknowledged after 240 s) and urumqi's running one
		// (c2 missed): receipts 300 and 600, dones 3000 and 2400. In 2025-H2, b1 late and
		// b2 missed (share 0, done 4200): a third met now is better.
		"changji": {drills: 2, steps: 3, met: 1, late: 1, missed: 1, share: ptr(1.0 / 3), receipt: ptr(450.0), ack: ptr(240.0), done: ptr(2700.0),
			halfDrills: 2, halfShare: ptr(1.0 / 3), prevDrills: 1, prevShare: ptr(0.0), prevDone: ptr(4200.0), trend: api.TrendImproved},
		// c1 received after 600 s, its deadline ahead; the drill is not acknowledged.
		"urumqi": {drills: 1, steps: 1, pending: 1, receipt: ptr(600.0), halfDrills: 1, trend: api.TrendNoData},
		// a3 received 900 s after its assignment, never done.
		"xpcc6": {drills: 1, steps: 1, missed: 1, share: ptr(0.0), receipt: ptr(900.0), halfDrills: 1, halfShare: ptr(0.0), trend: api.TrendNoData},
		"xpcc12": {drills: 1, steps: 1, met: 1, share: ptr(1.0), receipt: ptr(300.0), ack: ptr(180.0), done: ptr(1500.0),
			halfDrills: 1, halfShare: ptr(1.0), trend: api.TrendNoData},
	}
	var order []string
	for _, j := range rep.Jurisdictions {
		order = append(order, j.Jurisdiction)
		w, ok := want[j.Jurisdiction]
		if !ok {
			t.Errorf("unexpected row %s", j.Jurisdiction)
			continue
		}
		got := yearRow{drills: j.Drills, steps: j.Steps, met: j.Met, late: j.Late, missed: j.Missed, pending: j.Pending,
			share: j.MetShare, receipt: j.MedianReceiptSeconds, ack: j.MedianAckSeconds, done: j.MedianDoneSeconds,
			halfDrills: j.Half.Drills, prevDrills: j.Previous.Drills, halfShare: j.Half.MetShare, prevShare: j.Previous.MetShare,
			prevDone: j.Previous.MedianDoneSeconds, trend: j.Trend}
		if got.drills != w.drills || got.steps != w.steps || got.met != w.met || got.late != w.late || got.missed != w.missed ||
			got.pending != w.pending || !eqPtr(got.share, w.share) || !eqPtr(got.receipt, w.receipt) || !eqPtr(got.ack, w.ack) ||
			!eqPtr(got.done, w.done) || got.halfDrills != w.halfDrills || got.prevDrills != w.prevDrills ||
			!eqPtr(got.halfShare, w.halfShare) || !eqPtr(got.prevShare, w.prevShare) || !eqPtr(got.prevDone, w.prevDone) || got.trend != w.trend {
			t.Errorf("%s: got %s\nwant %s", j.Jurisdiction, rowText(got), rowText(w))
		}
		if j.Half.Label != "2026-H1" || j.Previous.Label != "2025-H2" {
			t.Errorf("%s: halves %s and %s, want 2026-H1 against 2025-H2", j.Jurisdiction, j.Half.Label, j.Previous.Label)
		}
	}
	// Every jurisdiction of the network, in its order, those that did not drill included.
	if !slices.Equal(order, []string{"urumqi", "changji", "xpcc12", "xpcc6"}) {
		t.Errorf("rows %v", order)
	}
}

func rowText(r yearRow) string {
	return strings.Join([]string{
		"drills", itoa(r.drills), "steps", itoa(r.steps), "met/late/missed/pending", itoa(r.met) + "/" + itoa(r.late) + "/" + itoa(r.missed) + "/" + itoa(r.pending),
		"share", ftoa(r.share), "receipt", ftoa(r.receipt), "ack", ftoa(r.ack), "done", ftoa(r.done),
		"half", itoa(r.halfDrills), ftoa(r.halfShare), "previous", itoa(r.prevDrills), ftoa(r.prevShare), ftoa(r.prevDone), r.trend,
	}, " ")
}

func itoa(n int) string { return strconv.Itoa(n) }

func ftoa(f *float64) string {
	if f == nil {
		return "null"
	}
	return strconv.FormatFloat(*f, 'g', -1, 64)
}

func TestDrillRoutesShowOnlyTheCallersJurisdictions(t *testing.T) {
	e, fix := drillEnv(t)
	for _, tc := range []struct {
		name, token string
		drills      []string
		rows        []string
	}{
		// changji sees its own drill and urumqi's, which reaches it downstream, not xpcc12's.
		{"changji's desk", viewerChangji, []string{fix.Running, fix.Resolved}, []string{"changji"}},
		{"xpcc6's desk", viewerXPCC6, []string{fix.Resolved}, []string{"xpcc6"}},
		{"an admin of everything", admin, []string{fix.Running, fix.Outside, fix.Resolved}, []string{"urumqi", "changji", "xpcc12", "xpcc6"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var list api.DrillList
			res := e.do(t, "GET", "/api/v1/drills?from=2026-01-01", tc.token, nil)
			if res.status != 200 {
				t.Fatalf("list: %d %s", res.status, res.body)
			}
			res.decode(t, &list)
			var ids []string
			for _, d := range list.Drills {
				ids = append(ids, d.Incident)
			}
			if !slices.Equal(ids, tc.drills) {
				t.Errorf("drills %v, want %v", ids, tc.drills)
			}
			var rep api.DrillYearReport
			res = e.do(t, "GET", "/api/v1/reports/drills", tc.token, nil)
			if res.status != 200 {
				t.Fatalf("year: %d %s", res.status, res.body)
			}
			res.decode(t, &rep)
			var rows []string
			for _, j := range rep.Jurisdictions {
				rows = append(rows, j.Jurisdiction)
			}
			if rep.Year != 2026 || !slices.Equal(rows, tc.rows) {
				t.Errorf("year %d rows %v, want 2026 %v", rep.Year, rows, tc.rows)
			}
		})
	}
}

func TestDrillRoutesRefuseBadQueries(t *testing.T) {
	e, _ := drillEnv(t)
	for _, tc := range []struct{ name, path string }{
		{"a year that is not a number", "/api/v1/reports/drills?year=last"},
		{"a year out of range", "/api/v1/reports/drills?year=1999"},
		{"a format other than json or csv", "/api/v1/reports/drills?format=xlsx"},
		{"a list in a format other than json or csv", "/api/v1/drills?format=xml"},
		{"a range that ends before it starts", "/api/v1/drills?from=2026-06-01&to=2026-05-01"},
		{"a range of more than five years", "/api/v1/drills?from=2016-01-01&to=2026-01-01"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if res := e.do(t, "GET", tc.path, viewerChangji, nil); res.status != 400 {
				t.Errorf("%s → %d, want 400: %s", tc.path, res.status, res.body)
			}
		})
	}
}

func readCSV(t *testing.T, r result) [][]string {
	t.Helper()
	if !bytes.HasPrefix(r.body, []byte("\uFEFF")) {
		t.Error("CSV without the UTF-8 BOM")
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Errorf("Content-Type %q", ct)
	}
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(r.body, []byte("\uFEFF")))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestDrillListCSVHasOneRowPerStepCellByCell(t *testing.T) {
	e, fix := drillEnv(t)
	loc := e.net.Location
	day := fix.ResolvedAt.In(loc).Format("2006-01-02")
	next := fix.ResolvedAt.In(loc).AddDate(0, 0, 1).Format("2006-01-02")
	res := e.do(t, "GET", "/api/v1/drills?format=csv&from="+day+"&to="+next, viewerChangji, nil)
	if res.status != 200 {
		t.Fatalf("status %d: %s", res.status, res.body)
	}
	if cd := res.header.Get("Content-Disposition"); !strings.Contains(cd, `filename="drills_`+strings.ReplaceAll(day, "-", "")+"-") {
		t.Errorf("Content-Disposition %q", cd)
	}
	rows := readCSV(t, res)
	a := fix.ResolvedAt
	at := func(d time.Duration) string { return a.Add(d).In(loc).Format(time.RFC3339) }
	head := []string{fix.Resolved, "【演练】STH-S2 氨氮", "STH-S2", "changji", "resolved", at(0), at(4 * time.Minute), "240"}
	want := [][]string{
		{"incident", "title", "site", "origin", "status", "opened_at", "acked_at", "ack_seconds",
			"step", "jurisdiction", "role", "assigned_at", "deadline", "deadline_seconds", "receipt_at", "receipt_seconds",
			"done_at", "done_seconds", "escalated_at", "outcome"},
		append(slices.Clone(head), "a1", "changji", "昌吉市生态环境局应急值班", at(0), at(time.Hour), "3600", at(5*time.Minute), "300", at(50*time.Minute), "3000", "", "met"),
		append(slices.Clone(head), "a2", "changji", "第二水厂", at(0), at(30*time.Minute), "1800", at(10*time.Minute), "600", at(40*time.Minute), "2400", "", "late"),
		append(slices.Clone(head), "a3", "xpcc6", "第六师生态环境局", at(20*time.Minute), at(2*time.Hour), "6000", at(35*time.Minute), "900", "", "", "", "missed"),
	}
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %d: %q", len(rows), len(want), rows)
	}
	for i := range want {
		if len(rows[i]) != len(want[i]) {
			t.Errorf("row %d: %d cells, want %d", i, len(rows[i]), len(want[i]))
			continue
		}
		for c := range want[i] {
			if rows[i][c] != want[i][c] {
				t.Errorf("row %d, %s: %q, want %q", i, want[0][c], rows[i][c], want[i][c])
			}
		}
	}
}

func TestDrillYearCSVHasOneRowPerJurisdictionCellByCell(t *testing.T) {
	e, _ := drillEnv(t)
	res := e.do(t, "GET", "/api/v1/reports/drills?year=2026&format=csv", admin, nil)
	if res.status != 200 {
		t.Fatalf("status %d: %s", res.status, res.body)
	}
	if cd := res.header.Get("Content-Disposition"); !strings.Contains(cd, `filename="drills_2026.csv"`) {
		t.Errorf("Content-Disposition %q", cd)
	}
	rows := readCSV(t, res)
	want := [][]string{
		{"year", "jurisdiction", "name", "drills", "steps", "met", "late", "missed", "pending", "met_share",
			"median_receipt_seconds", "median_ack_seconds", "median_done_seconds",
			"previous_half", "previous_drills", "previous_met_share", "previous_median_done_seconds",
			"half", "half_drills", "half_met_share", "half_median_done_seconds", "trend"},
		{"2026", "urumqi", "乌鲁木齐市（头屯河区）", "1", "1", "0", "0", "0", "1", "", "600", "", "", "2025-H2", "0", "", "", "2026-H1", "1", "", "", "no_data"},
		{"2026", "changji", "昌吉市", "2", "3", "1", "1", "1", "0", "0.3333", "450", "240", "2700", "2025-H2", "1", "0", "4200", "2026-H1", "2", "0.3333", "2700", "improved"},
		{"2026", "xpcc12", "新疆生产建设兵团第十二师", "1", "1", "1", "0", "0", "0", "1", "300", "180", "1500", "2025-H2", "0", "", "", "2026-H1", "1", "1", "1500", "no_data"},
		{"2026", "xpcc6", "新疆生产建设兵团第六师", "1", "1", "0", "0", "1", "0", "0", "900", "", "", "2025-H2", "0", "", "", "2026-H1", "1", "0", "", "no_data"},
	}
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %d: %q", len(rows), len(want), rows)
	}
	for i := range want {
		if len(rows[i]) != len(want[i]) {
			t.Errorf("row %d: %d cells, want %d: %q", i, len(rows[i]), len(want[i]), rows[i])
			continue
		}
		for c := range want[i] {
			if rows[i][c] != want[i][c] {
				t.Errorf("row %d, %s: %q, want %q", i, want[0][c], rows[i][c], want[i][c])
			}
		}
	}
}
