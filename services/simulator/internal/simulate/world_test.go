package simulate

import (
	"math"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/standard"
)

// The demo's spill must tell its story in every season: the outfall breaks its permit,
// STH-S2 fails Class III about 83 minutes later, STH-D2 fails Class II about 5.6 hours
// after the spill, and all of it passes.
func TestSpillPushesTheSectionOverClassIIIAndReachesTheIntake(t *testing.T) {
	net := repoNetwork(t)
	sc := repoScenario(t, net, "spill")
	o1 := mustSite(t, net, "STH-O1")
	for _, month := range []time.Month{time.January, time.April, time.July, time.October} {
		t.Run(month.String(), func(t *testing.T) {
			start := time.Date(2026, month, 15, 6, 0, 0, 0, net.Location)
			w := NewWorld(net, NewModel(net, sc.Seed), sc, start)
			spill := start.Add(sc.Timeline[0].At)
			class := func(v float64) standard.Class {
				c, err := standard.Classify("nh3n", v, standard.River)
				if err != nil {
					t.Fatal(err)
				}
				return c
			}
			worst := func(s string, from, to time.Duration) (standard.Class, time.Duration) {
				site := mustSite(t, net, s)
				var c standard.Class
				var first time.Duration = -1
				for at := spill.Add(from); at.Before(spill.Add(to)); at = at.Add(5 * time.Minute) {
					cl := class(w.Value(site, "nh3n", at))
					if cl > c {
						c = cl
					}
					limit := standard.ClassIII
					if site.TargetClass == "II" {
						limit = standard.ClassII
					}
					if cl > limit && first < 0 {
						first = at.Sub(spill)
					}
				}
				return c, first
			}
			conc := sc.Timeline[0].Concentration
			a, b := w.Value(o1, "nh3n", spill.Add(30*time.Minute)), w.Value(o1, "nh3n", spill.Add(35*time.Minute))
			if a < 0.9*conc || a > 1.1*conc || a == b {
				t.Errorf("outfall during the spill reads %v, then %v mg/L; want the effluent's %v, wavering", a, b, conc)
			}
			if c, _ := worst("STH-S2", -30*time.Minute, 70*time.Minute); c > standard.ClassII {
				t.Errorf("STH-S2 is class %v before the plume can reach it", c)
			}
			c, first := worst("STH-S2", 0, 4*time.Hour)
			if c < standard.ClassIV || month == time.January && c < standard.ClassWorseV {
				t.Errorf("STH-S2 reaches only class %v", c)
			}
			if first < 70*time.Minute || first > 95*time.Minute {
				t.Errorf("STH-S2 fails Class III %v after the spill, want about 83 minutes", first)
			}
			c, first = worst("STH-D2", 0, 8*time.Hour)
			if c < standard.ClassIV {
				t.Errorf("STH-D2 reaches only class %v", c)
			}
			if first < 5*time.Hour || first > 6*time.Hour {
				t.Errorf("STH-D2 fails Class II %v after the spill, want about 5.6 hours", first)
			}
			c, first = worst("STH-S3", 0, sc.Span-sc.Timeline[0].At)
			if month != time.July && (c < standard.ClassIV || first < 14*time.Hour || first > 16*time.Hour) {
				t.Errorf("STH-S3 reaches class %v, failing Class III %v after the spill; want about 15 hours", c, first)
			}
			end := start.Add(sc.Span)
			for _, site := range []string{"STH-S2", "STH-D2", "STH-S3"} {
				s := mustSite(t, net, site)
				for at := end.Add(-30 * time.Minute); at.Before(end); at = at.Add(5 * time.Minute) {
					if cl := class(w.Value(s, "nh3n", at)); cl > standard.ClassII {
						t.Errorf("%s is still class %v at the end of the scenario: the story cannot close", site, cl)
					}
				}
			}
			// Upstream of the outfall nothing happens.
			if c, _ := worst("STH-S1", 0, 8*time.Hour); c > standard.ClassII {
				t.Errorf("STH-S1, upstream of the outfall, reaches class %v", c)
			}
		})
	}
}

func TestSensorFaultsChangeWhatTheSensorReadsNotTheRiver(t *testing.T) {
	net := repoNetwork(t)
	sc := repoScenario(t, net, "sensor-fault")
	start := time.Date(2026, 4, 1, 0, 0, 0, 0, net.Location)
	w := NewWorld(net, NewModel(net, sc.Seed), sc, start)
	s1, s3 := mustSite(t, net, "STH-S1"), mustSite(t, net, "STH-S3")
	stuck, drift := sc.Timeline[0], sc.Timeline[1]
	frozen := w.Value(s1, stuck.Parameter, start.Add(stuck.At))
	for at := start.Add(stuck.At); at.Before(start.Add(stuck.End())); at = at.Add(5 * time.Minute) {
		if v := w.Value(s1, stuck.Parameter, at); v != frozen {
			t.Fatalf("a stuck sensor read %v at %v, want its frozen %v", v, at.Sub(start), frozen)
		}
	}
	if w.Value(s1, stuck.Parameter, start.Add(stuck.End())) == frozen {
		t.Error("the sensor is still stuck after its fault ended")
	}
	if w.Value(s1, "nh3n", start.Add(stuck.At+time.Hour)) == w.Value(s1, "nh3n", start.Add(stuck.At+time.Hour+5*time.Minute)) {
		t.Error("the stuck fault froze another parameter too")
	}
	at := start.Add(drift.At + 3*time.Hour)
	want := w.model.Value(s3, "do", at) + drift.PerHour*3
	if got := w.Value(s3, "do", at); got < want-1e-9 || got > want+1e-9 {
		t.Errorf("drifting DO after 3 h = %v, want the truth %+.1f mg/L = %v", got, drift.PerHour*3, want)
	}
}

func TestSilentStationsAreSilentOnlyDuringTheirOutage(t *testing.T) {
	net := repoNetwork(t)
	sc := repoScenario(t, net, "station-silent")
	start := time.Date(2026, 4, 1, 0, 0, 0, 0, net.Location)
	w := NewWorld(net, NewModel(net, sc.Seed), sc, start)
	h := sc.Timeline[0]
	site, other := mustSite(t, net, h.Site), mustSite(t, net, "TTH-S3")
	tests := []struct {
		name           string
		at             time.Duration
		silent, backup bool
	}{
		{"before", h.At - time.Minute, false, false},
		{"during", h.At + time.Hour, true, true},
		{"after", h.End(), false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, b := w.Silent(site, start.Add(tt.at))
			if s != tt.silent || b != tt.backup {
				t.Errorf("Silent = %v, %v; want %v, %v", s, b, tt.silent, tt.backup)
			}
			if s, _ := w.Silent(other, start.Add(tt.at)); s {
				t.Error("another station went silent too")
			}
		})
	}
}

// TestATracerDrillsPulseTravelsDownstream: configs/scenarios/tracer-drill.yaml releases
// 0.05 mg/L for 30 min at STH-S2; at STH-D2, 12 km down at 0.8 m/s with D = 10 m²/s, the
// front is 15 000 s after the release and the frozen-cloud peak 0.05 × erf(1800/(2√2·685))
// = 0.0406 mg/L around T + τ/2 = 15 900 s (the World's exact solution within 5 %); nothing
// before 3 h; STH-S3, 40 km down, sees a lower, later peak; no other parameter changes.
func TestATracerDrillsPulseTravelsDownstream(t *testing.T) {
	net := repoNetwork(t)
	sc := repoScenario(t, net, "tracer-drill")
	start := time.Date(2026, time.April, 15, 6, 0, 0, 0, net.Location)
	w := NewWorld(net, NewModel(net, sc.Seed), sc, start)
	release := start.Add(sc.Timeline[0].At)
	s2, d2, s3 := mustSite(t, net, "STH-S2"), mustSite(t, net, "STH-D2"), mustSite(t, net, "STH-S3")
	if v := w.Value(s2, "tracer", release.Add(15*time.Minute)); v != 0.05 {
		t.Errorf("STH-S2 during the release: %g mg/L, want 0.05", v)
	}
	if v := w.Value(s2, "tracer", release.Add(-time.Minute)); v != 0 {
		t.Errorf("STH-S2 before the release: %g mg/L, want 0", v)
	}
	peak := func(site string) (float64, time.Duration) {
		var best float64
		var at time.Duration
		for d := time.Duration(0); d < 15*time.Hour; d += time.Minute {
			if v := w.Value(mustSite(t, net, site), "tracer", release.Add(d)); v > best {
				best, at = v, d
			}
		}
		return best, at
	}
	p, at := peak("STH-D2")
	if math.Abs(p-0.0406) > 0.05*0.0406 || (at-15900*time.Second).Abs() > 10*time.Minute {
		t.Errorf("STH-D2 peak %.4f mg/L at %v, want ≈ 0.0406 at ≈ 4h25m", p, at)
	}
	if v := w.Value(d2, "tracer", release.Add(3*time.Hour)); v > 1e-6 {
		t.Errorf("STH-D2 3 h after the release: %g mg/L, want nothing yet", v)
	}
	if p3, at3 := peak("STH-S3"); p3 >= p || at3 <= at {
		t.Errorf("STH-S3 peak %.4f at %v, want lower and later than STH-D2's %.4f at %v", p3, at3, p, at)
	}
	quiet := NewWorld(net, NewModel(net, sc.Seed), &Scenario{Name: "none"}, start)
	if a, b := w.Value(s3, "nh3n", release.Add(14*time.Hour)), quiet.Value(s3, "nh3n", release.Add(14*time.Hour)); a != b {
		t.Errorf("the tracer changed nh3n at STH-S3: %g, want %g", a, b)
	}
}
