package simulate

import (
	"math"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/network"
	"github.com/riverwatch/riverwatch/pkg/standard"
)

// Left alone, every simulated station meets its target all year round: the demo's alarms
// come from the scenario, never from the background signal.
func TestUndisturbedStationsMeetTheirTargetsAllYear(t *testing.T) {
	net := repoNetwork(t)
	m := NewModel(net, 1)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, site := range net.Sites() {
		tg := target(t, site)
		for _, param := range m.Parameters(site) {
			worst, worstAt := 0.0, time.Time{}
			for at := start; at.Before(start.AddDate(1, 0, 0)); at = at.Add(37 * time.Minute) {
				v := m.Value(site, param, at)
				if v < 0 || math.IsNaN(v) {
					t.Fatalf("%s %s at %s: impossible value %v", site.ID, param, at, v)
				}
				if err := standard.Plausible(param, v); err != nil {
					t.Fatalf("%s %s at %s: %v", site.ID, param, at, err)
				}
				var temp *float64
				if site.Kind == network.KindOutfall {
					w := m.Value(site, "temp", at)
					temp = &w
				}
				vd, err := standard.Judge(tg, param, v, temp)
				if err != nil {
					t.Fatalf("%s %s: %v", site.ID, param, err)
				}
				if !vd.Meets {
					t.Fatalf("%s %s = %v at %s fails its target (limit %v)", site.ID, param, v, at, vd.Limit)
				}
				if vd.Applicable && vd.Limit > 0 && vd.LimitKind == standard.LimitUpper && v/vd.Limit > worst {
					worst, worstAt = v/vd.Limit, at
				}
			}
			if worst > 0.8 {
				t.Errorf("%s %s reaches %.0f%% of its limit at %s: too close for a quiet background", site.ID, param, worst*100, worstAt)
			}
		}
	}
}

func TestValuesArePureFunctionsOfSiteParameterAndTime(t *testing.T) {
	net := repoNetwork(t)
	site := mustSite(t, net, "STH-S2")
	at := time.Date(2026, 7, 14, 10, 35, 0, 0, time.UTC)
	a, b, other := NewModel(net, 7), NewModel(net, 7), NewModel(net, 8)
	if a.Value(site, "nh3n", at) != b.Value(site, "nh3n", at) {
		t.Fatal("two models with one seed disagree: a resent frame would carry other values")
	}
	if a.Value(site, "nh3n", at) == other.Value(site, "nh3n", at) {
		t.Fatal("another seed gives the same value: the noise ignores the seed")
	}
	if a.Value(site, "nh3n", at) == a.Value(site, "nh3n", at.Add(5*time.Minute)) {
		t.Fatal("the value does not change over five minutes")
	}
}

func TestSeasonsAndDaysShapeTheSignals(t *testing.T) {
	net := repoNetwork(t)
	m := NewModel(net, 1)
	site := mustSite(t, net, "STH-S2")
	mean := func(param string, day time.Time, hours ...int) float64 {
		var sum float64
		for _, h := range hours {
			for s := range 12 {
				sum += m.Value(site, param, day.Add(time.Duration(h)*time.Hour+time.Duration(s)*5*time.Minute))
			}
		}
		return sum / float64(12*len(hours))
	}
	jan := time.Date(2026, 1, 15, 0, 0, 0, 0, net.Location)
	jul := time.Date(2026, 7, 15, 0, 0, 0, 0, net.Location)
	tests := []struct {
		name        string
		higher      float64
		lower       float64
		description string
	}{
		{"water temperature", mean("temp", jul, 0, 12), mean("temp", jan, 0, 12), "July is warmer than January"},
		{"dissolved oxygen", mean("do", jan, 0, 12), mean("do", jul, 0, 12), "cold January water holds more oxygen"},
		{"conductivity", mean("conductivity", jan, 0, 12), mean("conductivity", jul, 0, 12), "winter base flow is more mineralised than meltwater"},
		{"afternoon oxygen", mean("do", jul, 14, 15, 16), mean("do", jul, 2, 3, 4), "photosynthesis lifts oxygen in the afternoon"},
		{"afternoon temperature", mean("temp", jul, 15, 16, 17), mean("temp", jul, 3, 4, 5), "the river warms by day"},
		{"melt-season flow", m.FlowFactor(jul), m.FlowFactor(jan), "the river carries its snow melt in summer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.higher <= tt.lower {
				t.Errorf("%s: %v should exceed %v", tt.description, tt.higher, tt.lower)
			}
		})
	}
}

// The assessor calls a run of identical values a stuck sensor; an honest simulated sensor,
// rounded as it is transmitted, never draws one.
func TestTransmittedValuesNeverDrawAFlatLine(t *testing.T) {
	net := repoNetwork(t)
	m := NewModel(net, 212)
	const flat = 8 // stricter than the assessor's default of 12
	for _, site := range net.Sites() {
		chs, err := channels(m.Parameters(site))
		if err != nil {
			t.Fatal(err)
		}
		for _, ch := range chs {
			run, prev := 0, math.NaN()
			for at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC); at.Before(time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC)); at = at.Add(5 * time.Minute) {
				v := round(m.Value(site, ch.param, at)*ch.factor, ch.dec)
				if v == prev {
					run++
				} else {
					run = 1
				}
				prev = v
				if run >= flat {
					t.Fatalf("%s %s repeats %v %d times in a row at %s", site.ID, ch.param, v, run, at)
				}
			}
		}
	}
}

func TestChannelsConvertToTheTransmissionUnit(t *testing.T) {
	chs, err := channels([]string{"flow", "nh3n", "ph", "hg"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		code   string
		factor float64
	}{
		"flow": {"w00000", 1000}, // m³/s → L/s
		"nh3n": {"w21003", 1},
		"ph":   {"w01001", 1},
		"hg":   {"w20111", 1000}, // mg/L → µg/L
	}
	if len(chs) != len(want) {
		t.Fatalf("channels = %+v", chs)
	}
	for _, ch := range chs {
		w := want[ch.param]
		if ch.code != w.code || math.Abs(ch.factor-w.factor) > 1e-9 {
			t.Errorf("%s: code %s factor %v, want %s ×%v", ch.param, ch.code, ch.factor, w.code, w.factor)
		}
	}
}
