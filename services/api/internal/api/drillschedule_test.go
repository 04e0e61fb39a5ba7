package api_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/auth"
	"github.com/riverwatch/riverwatch/pkg/config"
	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/services/api/internal/api"
	"github.com/riverwatch/riverwatch/services/api/internal/api/apitest"
)

// Tuesday 16 June 2026, 09:30 in Changji, is an occurrence of the weekly schedule; the
// 15th at 14:00 one of the monthly.
var drillSchedules = []config.DrillSchedule{
	{ID: "santun-weekly", Site: "STH-S2", Parameter: "nh3n", Every: config.DrillWeekly, Weekday: "tue", At: "09:30", Note: "周演练"},
	{ID: "toutun-monthly", Site: "TTH-S2", Every: config.DrillMonthly, Day: 15, At: "14:00"},
}

func TestRecurringDrillsStartAtEachOccurrenceOnce(t *testing.T) {
	e := newEnv(t)
	loc := e.net.Location
	local := func(d, h, m int) time.Time { return time.Date(2026, 6, d, h, m, 0, 0, loc) }
	var now time.Time
	clock := func() time.Time { return now }
	applier := &apitest.Applier{Store: e.store, Now: clock}
	s, err := api.NewDrillScheduler(drillSchedules, e.net, applier, nil, clock)
	if err != nil {
		t.Fatal(err)
	}
	tick := func(at time.Time) []message.Command { now = at; return s.Tick(context.Background()) }
	ids := func(cmds []message.Command) []string {
		var out []string
		for _, c := range cmds {
			out = append(out, c.Site)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		at   time.Time
		want []string // sites of the drills started
	}{
		{"the minute before the weekly occurrence: nothing", local(16, 9, 29), nil},
		{"at the weekly occurrence: its drill", local(16, 9, 30), []string{"STH-S2"}},
		{"a minute later: not again", local(16, 9, 31), nil},
		{"a week later, five minutes late: the next one", local(23, 9, 35), []string{"STH-S2"}},
		{"at the monthly occurrence, a month on", time.Date(2026, 7, 15, 14, 0, 0, 0, loc), []string{"TTH-S2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ids(tick(tc.at)); strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("at %s started %v, want %v", tc.at, got, tc.want)
			}
		})
	}
	sent := applier.Sent()
	if len(sent) != 3 {
		t.Fatalf("%d commands sent, want 3", len(sent))
	}
	c := sent[0]
	if c.Type != message.CommandDrill || c.ID != api.DrillCommandID("santun-weekly", local(16, 9, 30)) || c.Parameter != "nh3n" ||
		c.ActorRole != auth.RoleAdmin || strings.Join(c.ActorJurisdictions, ",") != "changji" || c.Actor != "drill schedule santun-weekly" ||
		c.Note != "recurring drill santun-weekly: 周演练" {
		t.Errorf("weekly drill command %+v", c)
	}
	if p := sent[2].Parameter; p != "codmn" {
		t.Errorf("monthly drill of parameter %q, want the route's default codmn", p)
	}
	// The drills it started are scored like any other.
	var list api.DrillList
	e.do(t, "GET", "/api/v1/drills?from=2026-06-01&to=2026-08-01", admin, nil).decode(t, &list)
	if len(list.Drills) != 3 {
		t.Errorf("%d drills listed, want the 3 started", len(list.Drills))
	}
}

func TestRecurringDrillsAreTheSameCommandFromEveryInstanceAndNotStartedLate(t *testing.T) {
	e := newEnv(t)
	loc := e.net.Location
	occ := time.Date(2026, 6, 16, 9, 30, 0, 0, loc)
	instance := func(at time.Time) (*api.DrillScheduler, *apitest.Applier) {
		a := &apitest.Applier{Store: e.store, Drop: true}
		s, err := api.NewDrillScheduler(drillSchedules[:1], e.net, a, nil, func() time.Time { return at })
		if err != nil {
			t.Fatal(err)
		}
		return s, a
	}
	one, _ := instance(occ.Add(time.Minute))
	two, _ := instance(occ.Add(3 * time.Minute))
	a, b := one.Tick(context.Background()), two.Tick(context.Background())
	if len(a) != 1 || len(b) != 1 || a[0].ID != b[0].ID {
		t.Errorf("two instances sent %+v and %+v, want one command each with the same id", a, b)
	}
	late, _ := instance(occ.Add(api.DefaultDrillWindow + time.Minute))
	if got := late.Tick(context.Background()); len(got) != 0 {
		t.Errorf("an occurrence missed by more than the window was started: %+v", got)
	}
}

func TestARecurringDrillThatCouldNotBeSentIsTriedAgainWithTheSameID(t *testing.T) {
	e := newEnv(t)
	at := time.Date(2026, 6, 16, 9, 31, 0, 0, e.net.Location)
	a := &apitest.Applier{Store: e.store, Drop: true, SendErr: errors.New("kafka: broker down")}
	s, err := api.NewDrillScheduler(drillSchedules[:1], e.net, a, nil, func() time.Time { return at })
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Tick(context.Background()); len(got) != 0 {
		t.Fatalf("sent while Kafka is down: %+v", got)
	}
	a.SendErr = nil
	got := s.Tick(context.Background())
	if len(got) != 1 || got[0].ID != api.DrillCommandID("santun-weekly", at.Add(-time.Minute)) {
		t.Errorf("after Kafka is back: %+v", got)
	}
}

func TestADrillScheduleOfAnUnknownSiteOrParameterIsRefused(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name string
		d    config.DrillSchedule
		want string
	}{
		{"unknown site", config.DrillSchedule{ID: "x", Site: "NOPE", Every: config.DrillWeekly, Weekday: "mon", At: "09:00"}, "drills[0].site"},
		{"unknown parameter", config.DrillSchedule{ID: "x", Site: "STH-S2", Parameter: "xyz", Every: config.DrillWeekly, Weekday: "mon", At: "09:00"}, "drills[0].parameter"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := api.NewDrillScheduler([]config.DrillSchedule{tc.d}, e.net, nil, nil, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to name %s", err, tc.want)
			}
		})
	}
}
