package storetest

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/store"
)

// nonDetectsAndAutomatic: a non-detect (below_dl, value = the detection limit) enters the
// monthly statistics at half its limit and is counted as one; the statistics of the
// automatic readings (every interval but lab) come apart from the manual samples'; the
// latest reading says it was a non-detect.
func nonDetectsAndAutomatic(t *testing.T, r Reader, s Seeder) {
	ctx := context.Background()
	loc := shanghai(t)
	start := time.Date(2026, 3, 2, 0, 0, 0, 0, loc).UTC()
	lab := func(param string, v float64, at time.Time, belowDL bool) message.Reading {
		rd := reading("STH-S2", param, v, at, message.FlagNormal)
		rd.Interval, rd.Source, rd.BelowDL = message.IntervalSample, message.SourceCSV, belowDL
		rd.ID = message.ReadingID(rd.Site, rd.Parameter, rd.Interval, rd.ObservedAt)
		return rd
	}
	auto := func(param string, v float64, at time.Time, belowDL bool) message.Reading {
		rd := reading("STH-S2", param, v, at, message.FlagNormal)
		rd.BelowDL = belowDL
		return rd
	}
	s.Readings(t,
		// phenol: two lab samples, one "0.01L" (counts 0.005) and one 0.004 → mean 0.0045.
		lab("phenol", 0.01, start, true),
		lab("phenol", 0.004, start.Add(24*time.Hour), false),
		// nh3n: three automatic hours 0.2, 0.4, "0.05L" (0.025) and a manual 1.3.
		auto("nh3n", 0.2, start, false),
		auto("nh3n", 0.4, start.Add(time.Hour), false),
		auto("nh3n", 0.05, start.Add(2*time.Hour), true),
		lab("nh3n", 1.3, start.Add(3*time.Hour), false),
	)
	means, err := r.MonthlyMeans(ctx, store.MeansQuery{Sites: []string{"STH-S2"}, From: time.Date(2026, 3, 1, 0, 0, 0, 0, loc),
		To: time.Date(2026, 4, 1, 0, 0, 0, 0, loc), Location: loc})
	if err != nil {
		t.Fatal(err)
	}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
	want := []struct {
		param          string
		mean, min, max float64
		count, nd      uint64
		auto           store.MeanStats
	}{
		{"nh3n", (0.2 + 0.4 + 0.025 + 1.3) / 4, 0.025, 1.3, 4, 1,
			store.MeanStats{Count: 3, Mean: (0.2 + 0.4 + 0.025) / 3, Min: 0.025, Max: 0.4, NonDetects: 1}},
		{"phenol", 0.0045, 0.004, 0.005, 2, 1, store.MeanStats{}},
	}
	if len(means) != len(want) {
		t.Fatalf("monthly means: %+v, want %d items", means, len(want))
	}
	for i, w := range want {
		m := means[i]
		if m.Parameter != w.param || !near(m.Mean, w.mean) || !near(m.Min, w.min) || !near(m.Max, w.max) || m.Count != w.count || m.NonDetects != w.nd {
			t.Errorf("%s: got mean %v [%v, %v] n %d non-detects %d, want mean %v [%v, %v] n %d non-detects %d",
				w.param, m.Mean, m.Min, m.Max, m.Count, m.NonDetects, w.mean, w.min, w.max, w.count, w.nd)
		}
		a := m.Auto
		if a.Count != w.auto.Count || !near(a.Mean, w.auto.Mean) || a.NonDetects != w.auto.NonDetects ||
			a.Count > 0 && (!near(a.Min, w.auto.Min) || !near(a.Max, w.auto.Max)) {
			t.Errorf("%s automatic: got %+v, want %+v", w.param, a, w.auto)
		}
	}
	// Raw points say which reading was a non-detect; the hour of "0.01L" holds 0.005.
	for _, c := range []struct {
		resolution string
		value      float64
		belowDL    bool
	}{{store.ResolutionRaw, 0.01, true}, {store.ResolutionHour, 0.005, false}} {
		ss, err := r.Series(ctx, store.SeriesQuery{Site: "STH-S2", Parameters: []string{"phenol"}, From: start, To: start.Add(time.Hour),
			Resolution: c.resolution, Location: loc})
		if err != nil {
			t.Fatal(err)
		}
		if len(ss) != 1 || len(ss[0].Points) != 1 {
			t.Fatalf("%s phenol series %+v, want one point", c.resolution, ss)
		}
		if p := ss[0].Points[0]; !near(p.Value, c.value) || p.BelowDL != c.belowDL {
			t.Errorf("%s phenol point %+v, want value %v below_dl %v", c.resolution, p, c.value, c.belowDL)
		}
	}
	latest, err := r.Latest(ctx, []string{"STH-S2"}, start)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range latest {
		if l.Parameter == "phenol" && (l.BelowDL || l.Value != 0.004) || l.Parameter == "nh3n" && (l.BelowDL || l.Value != 1.3) {
			t.Errorf("latest %s: %+v", l.Parameter, l)
		}
	}
	s.Readings(t, auto("nh3n", 0.05, start.Add(5*time.Hour), true))
	latest, err = r.Latest(ctx, []string{"STH-S2"}, start)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range latest {
		if l.Parameter == "nh3n" && (!l.BelowDL || l.Value != 0.05) {
			t.Errorf("latest nh3n after a non-detect: %+v, want below_dl with the limit 0.05", l)
		}
	}
}
