package simulate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRepositoryScenariosLoad(t *testing.T) {
	net := repoNetwork(t)
	files, err := filepath.Glob(filepath.Join("..", "..", "..", "..", "configs", "scenarios", "*.yaml"))
	if err != nil || len(files) < 4 {
		t.Fatalf("scenario files: %v %v", files, err)
	}
	kinds := map[string]bool{}
	for _, f := range files {
		sc, err := LoadScenario(f, net)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		for _, h := range sc.Timeline {
			kinds[h.Kind] = true
		}
		if sc.Span <= 0 || sc.Acceleration <= 0 || len(sc.Story.Steps) == 0 {
			t.Errorf("%s: span %v, acceleration %v, steps %v", f, sc.Span, sc.Acceleration, sc.Story.Steps)
		}
	}
	for _, k := range []string{KindSpill, KindStuck, KindDrift, KindSilent, KindDrill, KindTracer} {
		if !kinds[k] {
			t.Errorf("no repository scenario has a %s", k)
		}
	}
}

func TestScenarioErrorsNameTheField(t *testing.T) {
	net := repoNetwork(t)
	base := "name: x\ntimeline:\n"
	tests := []struct {
		name, doc, want string
	}{
		{"no name", "timeline: []\n", "name: must not be empty"},
		{"unknown key", "name: x\nspeed: 3\n", "field speed not found"},
		{"unknown site", base + "  - {kind: stuck, at: 1m, site: NOPE, parameter: nh3n, duration: 1h}\n", `unknown site "NOPE"`},
		{"spill at a section", base + "  - {kind: spill, at: 1m, site: STH-S2, parameter: nh3n, duration: 1h, concentration: 30}\n", "spills happen at outfalls"},
		{"spill without concentration", base + "  - {kind: spill, at: 1m, site: STH-O1, parameter: nh3n, duration: 1h}\n", "concentration must be > 0"},
		{"tracer at an outfall", base + "  - {kind: tracer, at: 1m, site: STH-O1, duration: 30m, concentration: 0.05}\n", "a tracer is released into the river"},
		{"tracer of a pollutant", base + "  - {kind: tracer, at: 1m, site: STH-S2, parameter: nh3n, duration: 30m, concentration: 0.05}\n", "a tracer drill releases the tracer"},
		{"tracer without concentration", base + "  - {kind: tracer, at: 1m, site: STH-S2, duration: 30m}\n", "concentration must be > 0"},
		{"unknown parameter", base + "  - {kind: stuck, at: 1m, site: STH-S1, parameter: unobtainium, duration: 1h}\n", `unknown parameter "unobtainium"`},
		{"unknown kind", base + "  - {kind: flood, at: 1m, site: STH-S1}\n", "unknown kind"},
		{"no duration", base + "  - {kind: silent, at: 1m, site: STH-S1}\n", "duration must be > 0"},
		{"drift without rate", base + "  - {kind: drift, at: 1m, site: STH-S1, parameter: do, duration: 1h}\n", "per_hour must not be 0"},
		{"after the span", "name: x\nspan: 1h\ntimeline:\n  - {kind: silent, at: 2h, site: STH-S1, duration: 1h}\n", "must lie within the span"},
		{"unknown step", "name: x\nstory: {steps: [party]}\n", `unknown step "party"`},
		{"exceedance without a site", "name: x\nstory: {steps: [exceedance]}\n", "step exceedance needs site"},
		{"prediction without a site", "name: x\nstory: {steps: [prediction], site: STH-S2}\n", "needs prediction_site"},
		{"too short an interval", "name: x\nrealtime_interval: 10ms\n", "realtime_interval"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseScenario([]byte(tt.doc), net)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want it to say %q", err, tt.want)
			}
		})
	}
}

func TestScenarioDefaults(t *testing.T) {
	net := repoNetwork(t)
	sc, err := ParseScenario([]byte("name: x\ntimeline:\n  - {kind: spill, at: 30m, site: STH-O1, parameter: nh3n, duration: 1h, concentration: 30}\n"), net)
	if err != nil {
		t.Fatal(err)
	}
	h := sc.Timeline[0]
	if sc.Span != 2*time.Hour+30*time.Minute || sc.RealtimeInterval != 5*time.Minute || sc.Acceleration != 60 {
		t.Errorf("span %v interval %v acceleration %v", sc.Span, sc.RealtimeInterval, sc.Acceleration)
	}
	if h.Rise != 10*time.Minute || h.DispersionM2S != 10 {
		t.Errorf("spill defaults: rise %v dispersion %v", h.Rise, h.DispersionM2S)
	}
	if got := len(sc.Stations(net)); got != len(net.Sites()) {
		t.Errorf("stations = %d, want every site with a station", got)
	}
}

func TestLoadScenarioNamesTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(path, []byte("name: [\n"), 0o644)
	_, err := LoadScenario(path, repoNetwork(t))
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("error = %v, want it to name %s", err, path)
	}
}

func TestOverlapWithAnEarlierRun(t *testing.T) {
	net := repoNetwork(t)
	spill, drill := repoScenario(t, net, "spill"), repoScenario(t, net, "drill")
	start := time.Date(2026, 11, 28, 14, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		sc     *Scenario
		latest time.Time
		want   bool
	}{
		{"nothing seen yet", spill, time.Time{}, false},
		{"an earlier run ended before this one starts", spill, start.Add(-time.Minute), false},
		{"an earlier run's readings reach into this one", spill, start.Add(5 * time.Hour), true},
		{"a drill does not depend on readings", drill, start.Add(5 * time.Hour), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.sc.Overlap(start, tt.latest); got != tt.want {
				t.Errorf("Overlap = %v, want %v", got, tt.want)
			}
		})
	}
}
