package apitest

import (
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
)

// DrillFixture names the drills SeedDrills stored, and the times their scores are worked
// from by hand.
type DrillFixture struct {
	// Resolved is a drill at STH-S2 (changji) opened 30 days before now and resolved, acknowledged
	// after 4 minutes: changji's duty desk (a1) received after 5 minutes and was done after 50,
	// within its hour; its water plant (a2) received after 10 and was done after 40 of its 30
	// minutes (late); xpcc6 (a3), assigned 20 minutes in, received 15 minutes later and never
	// finished (missed).
	Resolved string
	// Previous is a drill at STH-S2 in the half-year before now's (45 days before its start),
	// resolved, acknowledged after 10 minutes: changji's duty desk (b1) received after 20
	// minutes and was done after 70 of its 60 (late); the water plant (b2) never answered
	// (missed).
	Previous string
	// Running is a drill at TTH-S2 (urumqi) opened an hour before now, not acknowledged:
	// urumqi's step (c1) received after 10 minutes, deadline an hour ahead (pending);
	// changji's (c2) deadline passed 10 minutes ago undone (missed).
	Running string
	// Outside is a drill of xpcc12 alone opened 10 days before now, acknowledged after 3
	// minutes: its step (d1) received after 5 minutes and done after 25 of its 60 (met).
	Outside string
	// ResolvedAt, PreviousAt, RunningAt and OutsideAt are when each was opened.
	ResolvedAt, PreviousAt, RunningAt, OutsideAt time.Time
}

// SeedDrills adds four scored drill incidents to m (see DrillFixture), at times relative to
// now in loc (whose half-years the year report compares). Seed's incidents are not drills.
func SeedDrills(m *MemStore, now time.Time, loc *time.Location) DrillFixture {
	now = now.UTC().Truncate(time.Second)
	f := DrillFixture{Resolved: "drill-sth-s2-may", Previous: "drill-sth-s2-prev", Running: "drill-tth-s2-now", Outside: "drill-xpcc12"}
	l := now.In(loc)
	half := time.Date(l.Year(), time.January, 1, 0, 0, 0, 0, loc)
	if l.Month() >= time.July {
		half = time.Date(l.Year(), time.July, 1, 0, 0, 0, 0, loc)
	}
	f.ResolvedAt = now.AddDate(0, 0, -30)
	f.PreviousAt = half.AddDate(0, 0, -45).UTC().Add(10 * time.Hour)
	f.RunningAt = now.Add(-time.Hour)
	f.OutsideAt = now.AddDate(0, 0, -10)
	after := func(t time.Time, d time.Duration) *time.Time { v := t.Add(d); return &v }
	step := func(id, rel, j, role string, deadline time.Time, receipt, done *time.Time) message.Step {
		return message.Step{ID: id, Relation: rel, Jurisdiction: j, Role: role, Action: "演练：" + role, Deadline: deadline,
			ConfirmReceipt: true, ReceiptAt: receipt, DoneAt: done}
	}
	drill := func(id, site, river string, js []string, opened time.Time, status string, acked *time.Time, steps ...message.Step) message.Incident {
		inc := message.Incident{
			ID: id, Version: 4, Title: "【演练】" + site + " 氨氮", Status: status, Level: "IV", Colour: "blue",
			Playbook: "section_exceedance", River: river, Site: site, Sites: []string{site}, Parameters: []string{"nh3n"},
			Jurisdictions: js, Drill: true, EventIDs: []string{}, Steps: steps, OpenedAt: opened, AckedAt: acked, UpdatedAt: opened.Add(time.Hour),
		}
		if status == message.IncidentResolved {
			inc.ResolvedAt = after(opened, 2*time.Hour)
		}
		return inc
	}
	a := f.ResolvedAt
	m.PutIncident(drill(f.Resolved, "STH-S2", "santun", []string{"changji", "xpcc6"}, a, message.IncidentResolved, after(a, 4*time.Minute),
		step("a1", "self", "changji", "昌吉市生态环境局应急值班", a.Add(time.Hour), after(a, 5*time.Minute), after(a, 50*time.Minute)),
		step("a2", "downstream_to_intake", "changji", "第二水厂", a.Add(30*time.Minute), after(a, 10*time.Minute), after(a, 40*time.Minute)),
		step("a3", "downstream", "xpcc6", "第六师生态环境局", a.Add(2*time.Hour), after(a, 35*time.Minute), nil),
	))
	b := f.PreviousAt
	m.PutIncident(drill(f.Previous, "STH-S2", "santun", []string{"changji"}, b, message.IncidentResolved, after(b, 10*time.Minute),
		step("b1", "self", "changji", "昌吉市生态环境局应急值班", b.Add(time.Hour), after(b, 20*time.Minute), after(b, 70*time.Minute)),
		step("b2", "downstream_to_intake", "changji", "第二水厂", b.Add(30*time.Minute), nil, nil),
	))
	c := f.RunningAt
	m.PutIncident(drill(f.Running, "TTH-S2", "toutun", []string{"urumqi", "changji"}, c, message.IncidentOpen, nil,
		step("c1", "self", "urumqi", "头屯河区生态环境分局", c.Add(2*time.Hour), after(c, 10*time.Minute), nil),
		step("c2", "downstream", "changji", "昌吉市生态环境局", c.Add(50*time.Minute), nil, nil),
	))
	d := f.OutsideAt
	m.PutIncident(drill(f.Outside, "TTH-S1", "toutun", []string{"xpcc12"}, d, message.IncidentResolved, after(d, 3*time.Minute),
		step("d1", "self", "xpcc12", "第十二师生态环境局", d.Add(time.Hour), after(d, 5*time.Minute), after(d, 25*time.Minute)),
	))
	m.AddLog(
		message.LogEntry{ID: "dl1", IncidentID: f.Resolved, Version: 1, At: a, Actor: "responder", Action: "drill_started", Detail: "drill at STH-S2"},
		message.LogEntry{ID: "dl2", IncidentID: f.Resolved, Version: 1, At: a, Actor: "responder", Action: "step_assigned", Detail: "a1 → changji/duty, deadline " + a.Add(time.Hour).Format(time.RFC3339)},
		// xpcc6's step came 20 minutes in, when the drill's plume was predicted to reach it.
		message.LogEntry{ID: "dl3", IncidentID: f.Resolved, Version: 2, At: a.Add(20 * time.Minute), Actor: "responder", Action: "step_assigned", Detail: "a3 → xpcc6/duty, deadline " + a.Add(2*time.Hour).Format(time.RFC3339)},
		message.LogEntry{ID: "dl4", IncidentID: f.Resolved, Version: 3, At: a.Add(4 * time.Minute), Actor: "昌吉市应急值班", Action: "acknowledged", Detail: "acknowledged 4m0s after opening"},
	)
	return f
}
