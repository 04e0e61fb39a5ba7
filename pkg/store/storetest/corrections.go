package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/store"
)

// firstReceiptAndCorrections: a resend with another value changes nothing (the first
// receipt stands, security review M5); a correction replaces the value everywhere the
// reading is read, the later correction winning, a replayed one changing nothing; every
// correction is listed with who, when, why and the value before.
func firstReceiptAndCorrections(t *testing.T, r Reader, s Seeder) {
	ctx := context.Background()
	obs := time.Date(2026, 3, 10, 4, 0, 0, 0, time.UTC)
	first := reading("STH-S2", "nh3n", 0.8, obs, message.FlagNormal)
	first.ReceivedAt = obs.Add(time.Minute)
	resend := first
	resend.Value, resend.ReceivedAt = 5.0, obs.Add(time.Hour)
	s.Readings(t, first)
	s.Readings(t, resend)
	value := func(step string, want float64, wantSource string) {
		t.Helper()
		latest, err := r.Latest(ctx, []string{"STH-S2"}, obs.Add(-time.Hour))
		if err != nil || len(latest) != 1 || latest[0].Value != want || latest[0].Source != wantSource {
			t.Fatalf("%s: latest %+v (err %v), want value %v from %s", step, latest, err, want, wantSource)
		}
		series, err := r.Series(ctx, store.SeriesQuery{Site: "STH-S2", From: obs.Add(-time.Hour), To: obs.Add(time.Hour), Resolution: store.ResolutionRaw})
		if err != nil || len(series) != 1 || len(series[0].Points) != 1 || series[0].Points[0].Value != want {
			t.Fatalf("%s: raw series %+v (err %v), want one point of %v", step, series, err, want)
		}
	}
	value("a resend with another value", 0.8, first.Source)

	previous := 0.8
	fix := func(v float64, at time.Time, reason string) message.Correction {
		c := message.Correction{Reading: first, Previous: &previous, Reason: reason, Actor: "duty admin", ActorRole: "admin", At: at}
		c.Reading.Value = v
		c.ID = message.CorrectionID(first.ID, c.Actor, at)
		return c
	}
	c1 := fix(0.6, obs.Add(2*time.Hour), "lab re-analysis of the retained sample")
	c2 := fix(0.65, obs.Add(3*time.Hour), "calibration drift of 0.05 mg/L")
	s.Corrections(t, c1)
	value("the first correction", 0.6, message.SourceCorrection)
	s.Corrections(t, c2)
	s.Corrections(t, c1) // a replay of the earlier one
	value("the later correction", 0.65, message.SourceCorrection)
	s.Readings(t, resend) // and a station resending once more
	value("a resend after the corrections", 0.65, message.SourceCorrection)

	got, err := r.Corrections(ctx, store.CorrectionQuery{Site: "STH-S2", From: obs.Add(-time.Hour), To: obs.Add(time.Hour)})
	if err != nil || len(got) != 2 {
		t.Fatalf("corrections %+v (err %v), want 2", got, err)
	}
	for i, want := range []message.Correction{c2, c1} {
		g := got[i]
		if g.ID != want.ID || g.Reason != want.Reason || g.Actor != want.Actor || !g.At.Equal(want.At) ||
			g.Reading.Value != want.Reading.Value || g.Reading.ID != first.ID || g.Previous == nil || *g.Previous != previous {
			t.Errorf("correction %d: %+v, want %+v", i, g, want)
		}
	}
	if other, err := r.Corrections(ctx, store.CorrectionQuery{Site: "STH-S1", From: obs.Add(-time.Hour), To: obs.Add(time.Hour)}); err != nil || len(other) != 0 {
		t.Errorf("another site's corrections: %+v, %v", other, err)
	}

	// The report's count: one reading corrected twice in March (Shanghai), and in April a
	// reading observed at 23:30 on 31 March UTC — 1 April 07:30 in Shanghai.
	april := reading("STH-S2", "do", 7, time.Date(2026, 3, 31, 23, 30, 0, 0, time.UTC), message.FlagNormal)
	s.Readings(t, april)
	c3 := message.Correction{Reading: april, Reason: "wrong unit", Actor: "duty admin", ActorRole: "admin", At: april.ObservedAt.Add(time.Hour)}
	c3.Reading.Value = 7.5
	c3.ID = message.CorrectionID(april.ID, c3.Actor, c3.At)
	s.Corrections(t, c3)
	loc := shanghai(t)
	counts, err := r.MonthlyCorrections(ctx, store.MeansQuery{Sites: []string{"STH-S2", "STH-S1"},
		From: time.Date(2026, 3, 1, 0, 0, 0, 0, loc), To: time.Date(2026, 5, 1, 0, 0, 0, 0, loc), Location: loc})
	want := []store.CorrectionCount{
		{Site: "STH-S2", Month: time.Date(2026, 3, 1, 0, 0, 0, 0, loc), Readings: 1, Corrections: 2},
		{Site: "STH-S2", Month: time.Date(2026, 4, 1, 0, 0, 0, 0, loc), Readings: 1, Corrections: 1},
	}
	if err != nil || len(counts) != len(want) {
		t.Fatalf("monthly corrections %+v (err %v), want %+v", counts, err, want)
	}
	for i := range want {
		if g := counts[i]; g.Site != want[i].Site || !g.Month.Equal(want[i].Month) || g.Readings != want[i].Readings || g.Corrections != want[i].Corrections {
			t.Errorf("monthly corrections[%d] = %+v, want %+v", i, g, want[i])
		}
	}
}
