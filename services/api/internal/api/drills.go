package api

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/riverwatch/riverwatch/pkg/auth"
	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/network"
)

// Outcomes of a drill step against its deadline.
const (
	// DeadlineMet: done at or before the deadline.
	DeadlineMet = "met"
	// DeadlineLate: done, after the deadline.
	DeadlineLate = "late"
	// DeadlineMissed: not done, and the deadline has passed or the drill has ended.
	DeadlineMissed = "missed"
	// DeadlinePending: not done yet, the drill still running and the deadline ahead.
	DeadlinePending = "pending"
)

// Trends of a jurisdiction's drills, its latest half-year against the one before.
const (
	TrendImproved  = "improved"
	TrendWorse     = "worse"
	TrendUnchanged = "unchanged"
	// TrendNoData: one of the two half-years has no step with a deadline that has come.
	TrendNoData = "no_data"
)

// maxDrills bounds the drills one answer scores (each costs a read of its audit trail);
// a range holding more is answered with the newest and Truncated set.
const maxDrills = 1000

// DrillStepScore is how one step of a drill was answered: times from the step's
// assignment (the responder's step_assigned log entry; the drill's opening without one),
// and the step done against its deadline.
type DrillStepScore struct {
	Step         string     `json:"step"`
	Relation     string     `json:"relation"`
	Jurisdiction string     `json:"jurisdiction"`
	Role         string     `json:"role"`
	AssignedAt   time.Time  `json:"assigned_at"`
	Deadline     time.Time  `json:"deadline"`
	ReceiptAt    *time.Time `json:"receipt_at"`
	DoneAt       *time.Time `json:"done_at"`
	EscalatedAt  *time.Time `json:"escalated_at"`
	// ReceiptSeconds and DoneSeconds are whole seconds from assignment to receipt and to
	// done; null while there is none.
	ReceiptSeconds *int64 `json:"receipt_seconds"`
	DoneSeconds    *int64 `json:"done_seconds"`
	// DeadlineSeconds is what the deadline allowed, from assignment.
	DeadlineSeconds int64  `json:"deadline_seconds"`
	Outcome         string `json:"outcome"` // met, late, missed, pending
}

// DrillScore is one drill incident scored from its record.
type DrillScore struct {
	Incident string `json:"incident"`
	Title    string `json:"title"`
	Site     string `json:"site"`
	River    string `json:"river"`
	// Jurisdiction is the drill's origin, whose desk acknowledges it (pkg/authz).
	Jurisdiction string     `json:"jurisdiction"`
	Status       string     `json:"status"`
	OpenedAt     time.Time  `json:"opened_at"`
	AckedAt      *time.Time `json:"acked_at"`
	ResolvedAt   *time.Time `json:"resolved_at"`
	// AckSeconds is whole seconds from opening to acknowledgement; null without one.
	AckSeconds *int64           `json:"ack_seconds"`
	Steps      []DrillStepScore `json:"steps"`
	Met        int              `json:"met"`
	Late       int              `json:"late"`
	Missed     int              `json:"missed"`
	Pending    int              `json:"pending"`
	// MetShare is Met / (Met + Late + Missed); null when no deadline has come.
	MetShare *float64 `json:"met_share"`
}

// DrillList is the body of GET /api/v1/drills: the drills opened in [from, to), newest first.
type DrillList struct {
	From        time.Time    `json:"from"`
	To          time.Time    `json:"to"`
	GeneratedAt time.Time    `json:"generated_at"`
	Drills      []DrillScore `json:"drills"`
	// Truncated: the range holds more drills than one answer scores; narrow from and to.
	Truncated bool `json:"truncated"`
}

// DrillHalf is a jurisdiction's drills in one half-year.
type DrillHalf struct {
	Label  string `json:"label"` // 2026-H1
	Drills int    `json:"drills"`
	// MetShare and MedianDoneSeconds as in DrillJurisdictionYear, over the half-year.
	MetShare          *float64 `json:"met_share"`
	MedianDoneSeconds *float64 `json:"median_done_seconds"`
}

// DrillJurisdictionYear is one jurisdiction's drills of a year.
type DrillJurisdictionYear struct {
	Jurisdiction string `json:"jurisdiction"`
	Name         string `json:"name"`
	// Drills it took part in: a step of it, or the drill started in it.
	Drills int `json:"drills"`
	// Steps are its steps in those drills, by outcome.
	Steps   int `json:"steps"`
	Met     int `json:"met"`
	Late    int `json:"late"`
	Missed  int `json:"missed"`
	Pending int `json:"pending"`
	// MetShare is Met / (Met + Late + Missed); null when no deadline has come.
	MetShare *float64 `json:"met_share"`
	// Medians, in seconds, of its steps' times to receipt and to done (those that had
	// one), and of the time to acknowledge the drills that started in it; null without any.
	MedianReceiptSeconds *float64 `json:"median_receipt_seconds"`
	MedianAckSeconds     *float64 `json:"median_ack_seconds"`
	MedianDoneSeconds    *float64 `json:"median_done_seconds"`
	// Half is the latest half-year of the year that has begun, Previous the one before
	// (possibly of the previous year); Trend compares them: a higher share of deadlines
	// met is better, and at an equal share a shorter median time to done.
	Half     DrillHalf `json:"half"`
	Previous DrillHalf `json:"previous"`
	Trend    string    `json:"trend"`
}

// DrillYearReport is the body of GET /api/v1/reports/drills?year=: which jurisdictions
// drilled in the year, how fast, and whether they are improving.
type DrillYearReport struct {
	Year          int                     `json:"year"`
	From          time.Time               `json:"from"`
	To            time.Time               `json:"to"`
	GeneratedAt   time.Time               `json:"generated_at"`
	Jurisdictions []DrillJurisdictionYear `json:"jurisdictions"`
	Truncated     bool                    `json:"truncated"`
}

// ScoreDrill scores a drill incident from its record at now: each step's receipt and done
// timed from its assignment (found in log, the incident's audit trail) and done judged
// against its deadline; the acknowledgement timed from the opening.
func ScoreDrill(inc message.Incident, log []message.LogEntry, origin string, now time.Time) DrillScore {
	d := DrillScore{
		Incident: inc.ID, Title: inc.Title, Site: inc.Site, River: inc.River, Jurisdiction: origin,
		Status: inc.Status, OpenedAt: inc.OpenedAt, AckedAt: inc.AckedAt, ResolvedAt: inc.ResolvedAt,
		AckSeconds: secondsBetween(inc.OpenedAt, inc.AckedAt), Steps: []DrillStepScore{},
	}
	ended := inc.Status == message.IncidentResolved || inc.Status == message.IncidentClosed
	for _, st := range inc.Steps {
		assigned := assignedAt(st.ID, log, inc.OpenedAt)
		sc := DrillStepScore{
			Step: st.ID, Relation: st.Relation, Jurisdiction: st.Jurisdiction, Role: st.Role,
			AssignedAt: assigned, Deadline: st.Deadline, ReceiptAt: st.ReceiptAt, DoneAt: st.DoneAt, EscalatedAt: st.EscalatedAt,
			ReceiptSeconds: secondsBetween(assigned, st.ReceiptAt), DoneSeconds: secondsBetween(assigned, st.DoneAt),
			DeadlineSeconds: int64(st.Deadline.Sub(assigned) / time.Second),
		}
		switch {
		case st.DoneAt != nil && !st.DoneAt.After(st.Deadline):
			sc.Outcome = DeadlineMet
			d.Met++
		case st.DoneAt != nil:
			sc.Outcome = DeadlineLate
			d.Late++
		case ended || !now.Before(st.Deadline):
			sc.Outcome = DeadlineMissed
			d.Missed++
		default:
			sc.Outcome = DeadlinePending
			d.Pending++
		}
		d.Steps = append(d.Steps, sc)
	}
	d.MetShare = share(d.Met, d.Met+d.Late+d.Missed)
	return d
}

// assignedAt is when the responder assigned a step: its first step_assigned entry ("<step>
// → jurisdiction/role, deadline …"), else the opening (a step of the first playbook is
// assigned as the incident opens).
func assignedAt(step string, log []message.LogEntry, opened time.Time) time.Time {
	for _, l := range log {
		if l.Action == "step_assigned" && strings.HasPrefix(l.Detail, step+" ") {
			return l.At
		}
	}
	return opened
}

func secondsBetween(from time.Time, to *time.Time) *int64 {
	if to == nil {
		return nil
	}
	s := int64(to.Sub(from) / time.Second)
	return &s
}

func share(n, of int) *float64 {
	if of == 0 {
		return nil
	}
	v := float64(n) / float64(of)
	return &v
}

// median of the values, null for none.
func median(vs []int64) *float64 {
	if len(vs) == 0 {
		return nil
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	n := len(s)
	m := float64(s[n/2])
	if n%2 == 0 {
		m = float64(s[n/2-1]+s[n/2]) / 2
	}
	return &m
}

// drills scores the drills the caller sees opened in [from, to), newest first, reading the
// incidents page by page (they come newest opened first, so the scan stops at from).
func (s *Server) drills(ctx context.Context, p *auth.Principal, from, to time.Time) ([]DrillScore, bool, error) {
	var out []DrillScore
	now := s.now()
	for offset := 0; offset <= maxOffset; offset += maxLimit {
		list, err := s.store.Incidents(ctx, IncidentQuery{Jurisdictions: scope(p), Limit: maxLimit, Offset: offset})
		if err != nil {
			return nil, false, fmt.Errorf("list incidents: %w", err)
		}
		for _, inc := range list {
			if inc.OpenedAt.Before(from) {
				return out, false, nil
			}
			if !inc.Drill || !inc.OpenedAt.Before(to) || !seesIncident(p, inc) {
				continue
			}
			if len(out) == maxDrills {
				return out, true, nil
			}
			log, err := s.store.IncidentLog(ctx, inc.ID)
			if err != nil {
				return nil, false, fmt.Errorf("audit trail of %s: %w", inc.ID, err)
			}
			out = append(out, ScoreDrill(inc, log, s.origin(inc), now))
		}
		if len(list) < maxLimit {
			break
		}
	}
	return out, false, nil
}

func (s *Server) handleDrills(w http.ResponseWriter, r *http.Request) {
	if err := checkFormat(r); err != nil {
		s.handleErr(w, r, "drills", err)
		return
	}
	from, to, err := s.parseRange(r, 366*24*time.Hour)
	if err != nil {
		s.handleErr(w, r, "drills", err)
		return
	}
	if to.Sub(from) > 5*366*24*time.Hour {
		s.fail(w, r, http.StatusBadRequest, "bad_request", "range longer than 5 years")
		return
	}
	list, truncated, err := s.drills(r.Context(), principal(r), from, to)
	if err != nil {
		s.storeFail(w, r, "drills", err)
		return
	}
	if list == nil {
		list = []DrillScore{}
	}
	out := DrillList{From: from, To: to, GeneratedAt: s.now().UTC(), Drills: list, Truncated: truncated}
	if wantCSV(r) {
		s.writeDrillsCSV(w, out)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// halfStart is the first instant of the half-year holding t, in loc.
func halfStart(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	m := time.January
	if t.Month() >= time.July {
		m = time.July
	}
	return time.Date(t.Year(), m, 1, 0, 0, 0, 0, loc)
}

func halfLabel(start time.Time) string {
	if start.Month() >= time.July {
		return fmt.Sprintf("%d-H2", start.Year())
	}
	return fmt.Sprintf("%d-H1", start.Year())
}

func (s *Server) handleDrillReport(w http.ResponseWriter, r *http.Request) {
	if err := checkFormat(r); err != nil {
		s.handleErr(w, r, "drill report", err)
		return
	}
	loc := s.net.Location
	now := s.now().In(loc)
	year := now.Year()
	if v := strings.TrimSpace(r.URL.Query().Get("year")); v != "" {
		y, err := strconv.Atoi(v)
		if err != nil || y < 2000 || y > 2100 {
			s.fail(w, r, http.StatusBadRequest, "bad_request", "year=%q: want a year from 2000 to 2100", v)
			return
		}
		year = y
	}
	from := time.Date(year, 1, 1, 0, 0, 0, 0, loc)
	to := from.AddDate(1, 0, 0)
	// The latest half-year of the year that has begun, and the one before it.
	half := halfStart(minTime(now, to.Add(-time.Second)), loc)
	if half.Before(from) {
		half = from
	}
	prev := half.AddDate(0, -6, 0)
	p := principal(r)
	list, truncated, err := s.drills(r.Context(), p, minTime(prev, from).UTC(), to.UTC())
	if err != nil {
		s.storeFail(w, r, "drill report", err)
		return
	}
	rep := DrillYearReport{Year: year, From: from.UTC(), To: to.UTC(), GeneratedAt: s.now().UTC(), Truncated: truncated,
		Jurisdictions: s.drillYear(p, list, from, to, half, prev)}
	if wantCSV(r) {
		s.writeDrillYearCSV(w, rep)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

// drillTally gathers one jurisdiction's figures over a period.
type drillTally struct {
	drills                   int
	steps, met, late, missed int
	pending                  int
	receipt, ack, done       []int64
}

func (t *drillTally) add(d DrillScore, j string) {
	took := d.Jurisdiction == j
	if took && d.AckSeconds != nil {
		t.ack = append(t.ack, *d.AckSeconds)
	}
	for _, st := range d.Steps {
		if st.Jurisdiction != j {
			continue
		}
		took = true
		t.steps++
		switch st.Outcome {
		case DeadlineMet:
			t.met++
		case DeadlineLate:
			t.late++
		case DeadlineMissed:
			t.missed++
		default:
			t.pending++
		}
		if st.ReceiptSeconds != nil {
			t.receipt = append(t.receipt, *st.ReceiptSeconds)
		}
		if st.DoneSeconds != nil {
			t.done = append(t.done, *st.DoneSeconds)
		}
	}
	if took {
		t.drills++
	}
}

func (t *drillTally) metShare() *float64 { return share(t.met, t.met+t.late+t.missed) }

// drillYear builds the year's rows, one per jurisdiction the caller sees (those of the
// network that hold a site, then any other a drill's step names: a parent of the
// river-chief tree that an escalation reached), those that did not drill included.
func (s *Server) drillYear(p *auth.Principal, list []DrillScore, from, to, half, prev time.Time) []DrillJurisdictionYear {
	var ids []string
	names := map[string]string{}
	for _, j := range s.net.Jurisdictions() {
		names[j.ID] = j.Name
		if slices.ContainsFunc(s.net.Sites(), func(site *network.Site) bool { return site.Jurisdiction == j.ID }) {
			ids = append(ids, j.ID)
		}
	}
	for _, d := range list {
		for _, st := range d.Steps {
			if !slices.Contains(ids, st.Jurisdiction) {
				ids = append(ids, st.Jurisdiction)
			}
		}
	}
	halfEnd := half.AddDate(0, 6, 0)
	in := func(d DrillScore, a, b time.Time) bool { return !d.OpenedAt.Before(a) && d.OpenedAt.Before(b) }
	out := []DrillJurisdictionYear{}
	for _, j := range ids {
		if !p.Sees(j) {
			continue
		}
		var year, h, pr drillTally
		for _, d := range list {
			if in(d, from, to) {
				year.add(d, j)
			}
			if in(d, half, halfEnd) {
				h.add(d, j)
			}
			if in(d, prev, half) {
				pr.add(d, j)
			}
		}
		row := DrillJurisdictionYear{
			Jurisdiction: j, Name: names[j], Drills: year.drills, Steps: year.steps,
			Met: year.met, Late: year.late, Missed: year.missed, Pending: year.pending, MetShare: year.metShare(),
			MedianReceiptSeconds: median(year.receipt), MedianAckSeconds: median(year.ack), MedianDoneSeconds: median(year.done),
			Half:     DrillHalf{Label: halfLabel(half), Drills: h.drills, MetShare: h.metShare(), MedianDoneSeconds: median(h.done)},
			Previous: DrillHalf{Label: halfLabel(prev), Drills: pr.drills, MetShare: pr.metShare(), MedianDoneSeconds: median(pr.done)},
		}
		row.Trend = trend(row.Half, row.Previous)
		out = append(out, row)
	}
	return out
}

// trend compares a half-year with the one before: the share of deadlines met first, then
// the median time to done.
func trend(now, before DrillHalf) string {
	if now.MetShare == nil || before.MetShare == nil {
		return TrendNoData
	}
	switch {
	case *now.MetShare > *before.MetShare:
		return TrendImproved
	case *now.MetShare < *before.MetShare:
		return TrendWorse
	case now.MedianDoneSeconds != nil && before.MedianDoneSeconds != nil && *now.MedianDoneSeconds < *before.MedianDoneSeconds:
		return TrendImproved
	case now.MedianDoneSeconds != nil && before.MedianDoneSeconds != nil && *now.MedianDoneSeconds > *before.MedianDoneSeconds:
		return TrendWorse
	}
	return TrendUnchanged
}

func csvTime(t *time.Time, loc *time.Location) string {
	if t == nil {
		return ""
	}
	return t.In(loc).Format(time.RFC3339)
}

func csvInt(v *int64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatInt(*v, 10)
}

// startCSV answers 200 with a CSV download named name: the BOM first, then the rows the
// returned writer is given. Every CSV export of the api starts here.
func startCSV(w http.ResponseWriter, name string) *csv.Writer {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(csvBOM))
	return csv.NewWriter(w)
}

// writeDrillsCSV writes one row per step of each drill (one row with empty step columns
// for a drill without steps); times in the network's zone.
func (s *Server) writeDrillsCSV(w http.ResponseWriter, l DrillList) {
	loc := s.net.Location
	cw := startCSV(w, "drills_"+l.From.In(loc).Format("20060102")+"-"+l.To.In(loc).Format("20060102")+".csv")
	_ = cw.Write([]string{"incident", "title", "site", "origin", "status", "opened_at", "acked_at", "ack_seconds",
		"step", "jurisdiction", "role", "assigned_at", "deadline", "deadline_seconds", "receipt_at", "receipt_seconds",
		"done_at", "done_seconds", "escalated_at", "outcome"})
	for _, d := range l.Drills {
		head := []string{d.Incident, d.Title, d.Site, d.Jurisdiction, d.Status, csvTime(&d.OpenedAt, loc), csvTime(d.AckedAt, loc), csvInt(d.AckSeconds)}
		if len(d.Steps) == 0 {
			_ = cw.Write(append(head, "", "", "", "", "", "", "", "", "", "", "", ""))
			continue
		}
		for _, st := range d.Steps {
			_ = cw.Write(append(slices.Clone(head), st.Step, st.Jurisdiction, st.Role, csvTime(&st.AssignedAt, loc), csvTime(&st.Deadline, loc),
				strconv.FormatInt(st.DeadlineSeconds, 10), csvTime(st.ReceiptAt, loc), csvInt(st.ReceiptSeconds),
				csvTime(st.DoneAt, loc), csvInt(st.DoneSeconds), csvTime(st.EscalatedAt, loc), st.Outcome))
		}
	}
	cw.Flush()
}

// writeDrillYearCSV writes one row per jurisdiction.
func (s *Server) writeDrillYearCSV(w http.ResponseWriter, rep DrillYearReport) {
	cw := startCSV(w, "drills_"+strconv.Itoa(rep.Year)+".csv")
	_ = cw.Write([]string{"year", "jurisdiction", "name", "drills", "steps", "met", "late", "missed", "pending", "met_share",
		"median_receipt_seconds", "median_ack_seconds", "median_done_seconds",
		"previous_half", "previous_drills", "previous_met_share", "previous_median_done_seconds",
		"half", "half_drills", "half_met_share", "half_median_done_seconds", "trend"})
	for _, j := range rep.Jurisdictions {
		_ = cw.Write([]string{strconv.Itoa(rep.Year), j.Jurisdiction, j.Name, strconv.Itoa(j.Drills), strconv.Itoa(j.Steps),
			strconv.Itoa(j.Met), strconv.Itoa(j.Late), strconv.Itoa(j.Missed), strconv.Itoa(j.Pending), optFloat(j.MetShare),
			optFloat(j.MedianReceiptSeconds), optFloat(j.MedianAckSeconds), optFloat(j.MedianDoneSeconds),
			j.Previous.Label, strconv.Itoa(j.Previous.Drills), optFloat(j.Previous.MetShare), optFloat(j.Previous.MedianDoneSeconds),
			j.Half.Label, strconv.Itoa(j.Half.Drills), optFloat(j.Half.MetShare), optFloat(j.Half.MedianDoneSeconds), j.Trend})
	}
	cw.Flush()
}
