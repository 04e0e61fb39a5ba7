package gateway

import (
	"strconv"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/hj212"
	"github.com/riverwatch/riverwatch/pkg/standard"
)

func TestSeenCacheForgetsAfterTheWindowAndBeyondItsSize(t *testing.T) {
	c := newSeenCache(3, 3, time.Hour)
	t0 := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	c.Add("mn", "a", t0)
	if !c.Seen("mn", "a", t0.Add(59*time.Minute)) {
		t.Fatal("a forgotten within the window")
	}
	if c.Seen("mn", "a", t0.Add(61*time.Minute)) {
		t.Fatal("a remembered after the window")
	}
	for i := range 5 {
		c.Add("mn", strconv.Itoa(i), t0)
	}
	if c.Len() != 3 || c.Seen("mn", "0", t0) || c.Seen("mn", "1", t0) || !c.Seen("mn", "4", t0) {
		t.Fatalf("size bound: len %d", c.Len())
	}
	c.Add("mn", "late", t0.Add(2*time.Hour)) // everything older than the window goes
	if c.Len() != 1 {
		t.Fatalf("len %d after the window passed", c.Len())
	}
}

func TestSeenCacheANoisyStationCannotEvictAnotherStationsKeys(t *testing.T) {
	t0 := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name              string
		total, perStation int
	}{
		{"per-station bound", 1000, 10},
		{"total bound: the largest station loses its oldest", 20, 1000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newSeenCache(tc.total, tc.perStation, time.Hour)
			for i := range 5 {
				c.Add("quiet", "q"+strconv.Itoa(i), t0)
			}
			for i := range 10000 {
				c.Add("noisy", strconv.Itoa(i), t0)
			}
			for i := range 5 {
				if !c.Seen("quiet", "q"+strconv.Itoa(i), t0) {
					t.Fatalf("quiet station's key q%d evicted by the noisy one", i)
				}
			}
			if !c.Seen("noisy", "9999", t0) || c.Seen("noisy", "0", t0) {
				t.Fatal("the noisy station keeps its oldest keys instead of its newest")
			}
			if c.Len() > tc.total || c.LenOf("noisy") > tc.perStation {
				t.Fatalf("len %d (noisy %d), bounds %d / %d", c.Len(), c.LenOf("noisy"), tc.total, tc.perStation)
			}
		})
	}
}

// Every pollutant the codec maps must name a parameter the standard knows, in a unit it
// converts: otherwise its readings would all be refused.
func TestEveryMappedPollutantConvertsToItsCanonicalUnit(t *testing.T) {
	for _, v := range []hj212.Version{hj212.V2005, hj212.V2017} {
		ps := hj212.Pollutants(v)
		if len(ps) < 30 {
			t.Fatalf("%v: only %d pollutants mapped", v, len(ps))
		}
		for _, p := range ps {
			if !standard.Known(p.Param) {
				t.Errorf("%s → %s: not a parameter of pkg/standard", p.Code, p.Param)
				continue
			}
			if _, err := standard.ToCanonical(p.Param, 1, p.Unit); err != nil {
				t.Errorf("%s → %s in %q: %v", p.Code, p.Param, p.Unit, err)
			}
		}
	}
	// The units that matter most (facts.md §0 item 9): µg/L metals, L/s flow.
	for code, want := range map[string]float64{"w20111": 0.001, "w20115": 0.001, "w20117": 0.001, "w20119": 0.001, "w20120": 0.001, "w20089": 1e-6, "w00000": 0.001} {
		p, _ := hj212.LookupPollutant(hj212.V2017, code)
		if got, err := standard.ToCanonical(p.Param, 1, p.Unit); err != nil || !near(got, want) {
			t.Errorf("1 %s of %s = %v %s (%v), want %v", p.Unit, code, got, standard.CanonicalUnit(p.Param), err, want)
		}
	}
}
