package api

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/riverwatch/riverwatch/pkg/auth"
	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/network"
	"github.com/riverwatch/riverwatch/pkg/standard"
)

// MonthlyReport is the body of GET /api/v1/reports/monthly: the 月报 of one calendar month
// for the city or one river — each site's class against its target beside the month
// before, the rivers' ratings, the plan's indicators (表2—1) over the scope's sites, and the
// incidents and drills opened in the month. The figures are the compliance report's for
// that month (docs/reports.md), so the two never disagree.
type MonthlyReport struct {
	Month       string    `json:"month"` // 2026-03
	From        time.Time `json:"from"`
	To          time.Time `json:"to"`
	GeneratedAt time.Time `json:"generated_at"`
	// Complete is false while the month is running: its figures are so far.
	Complete bool `json:"complete"`
	// Scope is "city" (every river of the network) or a river id; ScopeName 全市 or the
	// river's name.
	Scope     string `json:"scope"`
	ScopeName string `json:"scope_name"`
	// Assessment, MinData and MinDataUnit are the month's data rule (a monthly assessment).
	Assessment  string           `json:"assessment"`
	MinData     int              `json:"min_data"`
	MinDataUnit string           `json:"min_data_unit"`
	Summary     MonthlySummary   `json:"summary"`
	Sites       []MonthlySite    `json:"sites"`
	Rivers      []RiverRating    `json:"rivers"`
	Indicators  []PlanIndicator  `json:"indicators"`
	Incidents   []MonthIncident  `json:"incidents"`
	Drills      []DrillScore     `json:"drills"`
	Truncated   bool             `json:"truncated"` // more incidents or drills than listed
	Classes     []ClassShareItem `json:"classes"`
}

// MonthlySummary counts the month's sites against their targets, and its incidents.
type MonthlySummary struct {
	Sites        int `json:"sites"`        // sections and drinking-water sources in scope
	Rated        int `json:"rated"`        // with a class this month
	Meeting      int `json:"meeting"`      // of the rated, meeting their target
	Insufficient int `json:"insufficient"` // readings, but too few (数据不足)
	NoData       int `json:"no_data"`      // no reading
	Improved     int `json:"improved"`     // better class than the month before
	Worse        int `json:"worse"`        // worse class than the month before
	Incidents    int `json:"incidents"`    // opened in the month, drills excluded
	Drills       int `json:"drills"`       // drills opened in the month
	OpenAtEnd    int `json:"open_at_end"`  // incidents of the month not resolved by its end (or now)
	NonDetects   int `json:"non_detects"`  // sites with a non-detect item
	ManualAside  int `json:"manual_aside"` // manual samples set aside for automatic data
	// MeetingShare is Meeting / Rated; null when nothing was rated.
	MeetingShare *float64 `json:"meeting_share"`
}

// MonthlySite is one site's month: its compliance (as in the compliance report) and its
// class the month before.
type MonthlySite struct {
	Compliance SiteCompliance `json:"compliance"`
	// PreviousClass is the class of the month before ("" when it was not rated), and Change
	// "better", "worse", "same", or "" when either month has no class.
	PreviousClass      string `json:"previous_class"`
	PreviousClassRoman string `json:"previous_class_roman"`
	Change             string `json:"change"`
}

// ClassShareItem is how many of the month's rated sites are of one class (the chart).
type ClassShareItem struct {
	Class      string  `json:"class"`
	ClassRoman string  `json:"class_roman"`
	Color      string  `json:"color"`
	Sites      int     `json:"sites"`
	Share      float64 `json:"share"` // of the rated sites; 0 when none was rated
}

// MonthIncident is an incident opened in the month (drills are in Drills).
type MonthIncident struct {
	ID         string     `json:"id"`
	Title      string     `json:"title"`
	Site       string     `json:"site"`
	River      string     `json:"river"`
	Level      string     `json:"level"`
	Status     string     `json:"status"`
	Parameters []string   `json:"parameters"`
	OpenedAt   time.Time  `json:"opened_at"`
	ResolvedAt *time.Time `json:"resolved_at"`
}

// Changes of a site's class from one month to the next.
const (
	ChangeBetter = "better"
	ChangeWorse  = "worse"
	ChangeSame   = "same"
)

// monthPattern is the month parameter: YYYY-MM.
var monthPattern = regexp.MustCompile(`^[0-9]{4}-(0[1-9]|1[0-2])$`)

// maxMonthIncidents bounds the incidents and drills a month report lists.
const maxMonthIncidents = 500

func (s *Server) handleMonthlyReport(w http.ResponseWriter, r *http.Request) {
	if err := checkFormat(r); err != nil {
		s.handleErr(w, r, "monthly_report", err)
		return
	}
	loc := s.net.Location
	now := s.now().In(loc)
	month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, loc)
	if v := r.URL.Query().Get("month"); v != "" {
		if !monthPattern.MatchString(v) {
			s.fail(w, r, http.StatusBadRequest, "bad_request", "month=%q: want YYYY-MM", v)
			return
		}
		t, err := time.ParseInLocation("2006-01", v, loc)
		if err != nil {
			s.fail(w, r, http.StatusBadRequest, "bad_request", "month=%q: %v", v, err)
			return
		}
		month = t
	}
	if month.After(now) {
		s.fail(w, r, http.StatusBadRequest, "bad_request", "month %s has not begun", month.Format("2006-01"))
		return
	}
	if month.Year() < 2000 {
		s.fail(w, r, http.StatusBadRequest, "bad_request", "month before 2000")
		return
	}
	scope, scopeName := "city", "全市"
	river := r.URL.Query().Get("river")
	if river != "" {
		rv, ok := s.net.River(river)
		if !ok {
			s.fail(w, r, http.StatusNotFound, "not_found", "no river %q", river)
			return
		}
		scope, scopeName = rv.ID, rv.Name
	}
	p := principal(r)
	var sites []*network.Site
	for _, site := range s.visibleSites(p) {
		if site.Kind != network.KindOutfall && (river == "" || site.River == river) {
			sites = append(sites, site)
		}
	}
	rep, err := s.monthly(r.Context(), p, sites, month, river)
	if err != nil {
		s.storeFail(w, r, "monthly_report", err)
		return
	}
	rep.Scope, rep.ScopeName = scope, scopeName
	if wantCSV(r) {
		s.writeMonthlyCSV(w, rep)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

// monthly builds the report of month (its first instant) for sites, the incidents and
// drills of river ("" for all) that p sees.
func (s *Server) monthly(ctx context.Context, p *auth.Principal, sites []*network.Site, month time.Time, river string) (MonthlyReport, error) {
	loc := s.net.Location
	from, to := month.UTC(), month.AddDate(0, 1, 0).UTC()
	prev := month.AddDate(0, -1, 0).UTC()
	now := s.now().UTC()
	ids := siteIDs(sites)
	means, err := s.store.MonthlyMeans(ctx, MeansQuery{Sites: ids, From: prev, To: to, Location: loc})
	if err != nil {
		return MonthlyReport{}, fmt.Errorf("monthly means: %w", err)
	}
	corrected, err := s.store.MonthlyCorrections(ctx, MeansQuery{Sites: ids, From: prev, To: to, Location: loc})
	if err != nil {
		return MonthlyReport{}, fmt.Errorf("corrections: %w", err)
	}
	// The compliance of the month before and of the month, from the same rule.
	comp := s.compliance(sites, means, corrected, prev, to)
	before, cur := comp.Months[0], comp.Months[1]
	rep := MonthlyReport{
		Month: month.Format("2006-01"), From: from, To: to, GeneratedAt: now, Complete: !now.Before(to),
		Assessment: cur.Assessment, MinData: cur.MinData, MinDataUnit: cur.MinDataUnit,
		Sites: []MonthlySite{}, Rivers: cur.Rivers, Indicators: cur.Indicators,
		Incidents: []MonthIncident{}, Drills: []DrillScore{},
	}
	prevClass := map[string]SiteCompliance{}
	for _, sc := range before.Sites {
		prevClass[sc.Site] = sc
	}
	classes := map[string]int{}
	sum := &rep.Summary
	for _, sc := range cur.Sites {
		ms := MonthlySite{Compliance: sc}
		if pc := prevClass[sc.Site]; pc.Class != "" {
			ms.PreviousClass, ms.PreviousClassRoman = pc.Class, pc.ClassRoman
			if sc.Class != "" {
				ms.Change = classChange(pc.Class, sc.Class)
			}
		}
		sum.Sites++
		switch sc.DataStatus {
		case DataRated:
			sum.Rated++
			classes[sc.Class]++
			if sc.MeetsTarget != nil && *sc.MeetsTarget {
				sum.Meeting++
			}
		case DataInsufficient:
			sum.Insufficient++
		default:
			sum.NoData++
		}
		switch ms.Change {
		case ChangeBetter:
			sum.Improved++
		case ChangeWorse:
			sum.Worse++
		}
		if len(sc.NonDetects) > 0 {
			sum.NonDetects++
		}
		sum.ManualAside += int(sc.ManualSetAside)
		rep.Sites = append(rep.Sites, ms)
	}
	if sum.Rated > 0 {
		share := float64(sum.Meeting) / float64(sum.Rated)
		sum.MeetingShare = &share
	}
	for _, c := range []standard.Class{standard.ClassI, standard.ClassII, standard.ClassIII, standard.ClassIV, standard.ClassV, standard.ClassWorseV} {
		item := ClassShareItem{Class: c.String(), ClassRoman: c.Roman(), Color: c.Color(), Sites: classes[c.String()]}
		if sum.Rated > 0 {
			item.Share = float64(item.Sites) / float64(sum.Rated)
		}
		rep.Classes = append(rep.Classes, item)
	}
	incidents, truncated, err := s.monthIncidents(ctx, p, from, to, river)
	if err != nil {
		return MonthlyReport{}, err
	}
	end := minTime(to, now)
	for _, inc := range incidents {
		if inc.ResolvedAt == nil || inc.ResolvedAt.After(end) {
			sum.OpenAtEnd++
		}
	}
	rep.Incidents = incidents
	sum.Incidents = len(incidents)
	drills, dt, err := s.drills(ctx, p, from, to)
	if err != nil {
		return MonthlyReport{}, err
	}
	for _, d := range drills {
		if river == "" || d.River == river {
			rep.Drills = append(rep.Drills, d)
		}
	}
	sum.Drills = len(rep.Drills)
	rep.Truncated = truncated || dt
	return rep, nil
}

// classChange compares two classes of the 2011 method ("I" … "劣V"): better is a lower
// class number.
func classChange(before, now string) string {
	b, errB := standard.ParseClass(before)
	n, errN := standard.ParseClass(now)
	switch {
	case errB != nil || errN != nil:
		return ""
	case n < b:
		return ChangeBetter
	case n > b:
		return ChangeWorse
	}
	return ChangeSame
}

// monthIncidents lists the incidents (not drills) opened in [from, to) that p sees, of
// river ("" for all), oldest first; truncated past maxMonthIncidents.
func (s *Server) monthIncidents(ctx context.Context, p *auth.Principal, from, to time.Time, river string) ([]MonthIncident, bool, error) {
	var out []MonthIncident
	for offset := 0; offset <= maxOffset; offset += maxLimit {
		list, err := s.store.Incidents(ctx, IncidentQuery{Jurisdictions: scope(p), Limit: maxLimit, Offset: offset})
		if err != nil {
			return nil, false, fmt.Errorf("list incidents: %w", err)
		}
		for _, inc := range list { // newest opened first
			if inc.OpenedAt.Before(from) {
				return reverse(out), false, nil
			}
			if inc.Drill || !inc.OpenedAt.Before(to) || !seesIncident(p, inc) || river != "" && inc.River != river {
				continue
			}
			if len(out) == maxMonthIncidents {
				return reverse(out), true, nil
			}
			out = append(out, monthIncident(inc))
		}
		if len(list) < maxLimit {
			break
		}
	}
	return reverse(out), false, nil
}

func monthIncident(inc message.Incident) MonthIncident {
	params := inc.Parameters
	if params == nil {
		params = []string{}
	}
	return MonthIncident{ID: inc.ID, Title: inc.Title, Site: inc.Site, River: inc.River, Level: inc.Level, Status: inc.Status,
		Parameters: params, OpenedAt: inc.OpenedAt, ResolvedAt: inc.ResolvedAt}
}

// reverse returns the incidents oldest first, never nil.
func reverse(in []MonthIncident) []MonthIncident {
	out := make([]MonthIncident, len(in))
	for i, x := range in {
		out[len(in)-1-i] = x
	}
	return out
}

// writeMonthlyCSV writes the month's figures, one row per summary figure, site, river,
// indicator, incident and drill (docs/reports.md, "The monthly report").
func (s *Server) writeMonthlyCSV(w http.ResponseWriter, rep MonthlyReport) {
	name := "monthly_" + rep.Scope + "_" + strings.ReplaceAll(rep.Month, "-", "") + ".csv"
	cw := startCSV(w, name)
	_ = cw.Write([]string{"month", "scope", "row", "id", "name", "target", "class", "previous_class", "meets_target", "value", "detail", "data_status"})
	row := func(kind, id, name, target, class, prev, meets, value, detail, status string) {
		_ = cw.Write([]string{rep.Month, rep.Scope, kind, id, name, target, class, prev, meets, value, detail, status})
	}
	sm := rep.Summary
	share := ""
	if sm.MeetingShare != nil {
		share = trimFloat(*sm.MeetingShare, 4)
	}
	row("summary", "meeting", "达标断面（点位）", "", "", "", "", strconv.Itoa(sm.Meeting)+"/"+strconv.Itoa(sm.Rated), share, "")
	for _, kv := range []struct {
		id, name string
		n        int
	}{{"sites", "断面（点位）", sm.Sites}, {"insufficient", "数据不足", sm.Insufficient}, {"no_data", "无数据", sm.NoData},
		{"improved", "水质好转", sm.Improved}, {"worse", "水质变差", sm.Worse}, {"incidents", "突发事件", sm.Incidents},
		{"drills", "应急演练", sm.Drills}, {"open_at_end", "月末未解除", sm.OpenAtEnd}, {"non_detects", "有未检出项的点位", sm.NonDetects},
		{"manual_aside", "自动数据优先未采用的手工数据", sm.ManualAside}} {
		row("summary", kv.id, kv.name, "", "", "", "", strconv.Itoa(kv.n), "", "")
	}
	for _, c := range rep.Classes {
		row("class", c.Class, c.ClassRoman, "", c.ClassRoman, "", "", strconv.Itoa(c.Sites), trimFloat(c.Share, 4), "")
	}
	for _, ms := range rep.Sites {
		sc := ms.Compliance
		detail := sc.MainPollutants
		if nd := nonDetectTexts(sc.NonDetects); nd != "" {
			detail = strings.TrimPrefix(detail+"；未检出："+nd, "；")
		}
		row("site", sc.Site, sc.Name, sc.TargetClass, sc.ClassRoman, ms.PreviousClassRoman, boolText(sc.MeetsTarget),
			strconv.FormatUint(sc.Samples, 10), detail, sc.DataStatus)
	}
	for _, ms := range rep.Sites {
		// A lake's or reservoir's trophic state: value the index, detail the grade's name or
		// the missing items, data_status rated, insufficient_data or no_data.
		if ts := ms.Compliance.Trophic; ts != nil {
			detail := ts.GradeName
			if ts.Status != DataRated {
				detail = strings.Join(ts.Missing, ";")
			}
			row("trophic", ms.Compliance.Site, ms.Compliance.Name, "", "", "", "", trophicIndexText(ts), detail, ts.Status)
		}
		// A drinking-water source against Class Ⅲ plus Tables 2 and 3: meets_target that
		// judgement, detail the Table 2/3 items over their limit.
		if cs := ms.Compliance.SourceClassIII; cs != nil {
			row("source_class_iii", ms.Compliance.Site, ms.Compliance.Name, "III", ms.Compliance.ClassRoman, "", boolText(cs.Meets),
				strconv.Itoa(cs.SupplementaryItems), strings.Join(cs.Exceeding, ";"), ms.Compliance.DataStatus)
		}
	}
	for _, rv := range rep.Rivers {
		row("river", rv.River, rv.Name, "", rv.ClassRoman, "", "", trimFloat(rv.ShareIIIOrBetter, 4), rv.Method+" "+rv.MainPollutants, "")
	}
	for _, in := range rep.Indicators {
		row("indicator", in.ID, in.Name, trimFloat(in.Target, 4), "", "", boolText(in.Meets), trimFloat(in.Value, 4),
			strconv.Itoa(in.Count)+"/"+strconv.Itoa(in.Of), "")
	}
	loc := s.net.Location
	for _, inc := range rep.Incidents {
		row("incident", inc.ID, inc.Title, "", inc.Level, "", "", inc.OpenedAt.In(loc).Format(time.RFC3339),
			inc.Site+" "+strings.Join(inc.Parameters, ";"), inc.Status)
	}
	for _, d := range rep.Drills {
		share := ""
		if d.MetShare != nil {
			share = trimFloat(*d.MetShare, 4)
		}
		row("drill", d.Incident, d.Title, "", "", "", "", d.OpenedAt.In(loc).Format(time.RFC3339), share, d.Status)
	}
	cw.Flush()
}
