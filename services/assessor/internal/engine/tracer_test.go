package engine

import (
	"math"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/standard"
)

// TestFitDispersionFollowsTheBreakthroughWithinBounds: the worked example of docs/plume.md
// ("Re-tuning"): σ_obs² = 7 344 000 s², σ_pred = 1100 s, first tracer: w = 1/2,
// d = (7 344 000 / 1 210 000)^0.5 = 6.069421^0.5 = 2.463620.
func TestFitDispersionFollowsTheBreakthroughWithinBounds(t *testing.T) {
	tests := []struct {
		name      string
		d         float64
		n         int
		obs2, sig float64
		want      float64
	}{
		{"the worked example's first tracer", 1, 0, 7344000, 1100, 2.463620},
		// 2.463620 × (1 210 000/1 210 000)^(1/3): on target, unchanged.
		{"a breakthrough as predicted leaves it", 2.463620, 1, 1210000, 1100, 2.463620},
		// σ_obs = σ_pred/2: (1/4)^(1/3) = 0.629961.
		{"a narrower one shrinks it by a third of the way", 1, 1, 302500, 1100, 0.629961},
		// n = 10: w = max(1/12, 0.2) = 0.2; 4^0.2 = 1.319508.
		{"a long-tuned reach still moves by a fifth", 1, 10, 4840000, 1100, 1.319508},
		// 100² spread ratio: 10000^0.5 = 100 → 4.
		{"it stays within ×4", 1, 0, 12100000000, 1100, 4},
		// 1/10000^0.5 = 0.01 → 1/4.
		{"and within ×1/4", 1, 0, 121, 1100, 0.25},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := fitDispersion(tc.d, tc.n, tc.obs2, tc.sig); math.Abs(got-tc.want) > 1e-6 {
				t.Errorf("fitDispersion(%g, %d, %g, %g) = %.6f, want %.6f", tc.d, tc.n, tc.obs2, tc.sig, got, tc.want)
			}
		})
	}
}

// TestObservedSpreadIsTheBreakthroughsVarianceLessTheReleases: excesses 1, 4, 4, 1 at 5,
// 6, 7 and 8 h after a 1 h release: mean 6.5 h, variance 42.9 − 42.25 = 0.65 h² =
// 8 424 000 s², less 3600²/12 = 1 080 000: 7 344 000 s². A release as long as the
// breakthrough's spread leaves nothing to attribute.
func TestObservedSpreadIsTheBreakthroughsVarianceLessTheReleases(t *testing.T) {
	tr := &tracerFit{duration: time.Hour.Milliseconds()}
	for i, x := range []float64{1, 4, 4, 1} {
		ts := float64(5+i) * 3600
		tr.m0, tr.m1, tr.m2 = tr.m0+x, tr.m1+x*ts, tr.m2+x*ts*ts
	}
	if s2, ok := tr.observedSpread2(); !ok || math.Abs(s2-7344000) > 1e-3 {
		t.Errorf("σ² = %g (%v), want 7344000", s2, ok)
	}
	tr.duration = 12 * time.Hour.Milliseconds() // τ²/12 = 12 h² > 0.65 h²
	if s2, ok := tr.observedSpread2(); ok {
		t.Errorf("σ² = %g from a release longer than its breakthrough, want none", s2)
	}
	if _, ok := (&tracerFit{duration: 1}).observedSpread2(); ok {
		t.Error("σ² from no breakthrough")
	}
}

// TestATracerDrillRetunesTheReachsVelocityAndDispersion is the worked example of
// docs/plume.md ("Tracer drills", "Re-tuning"): 0.05 mg/L of tracer at M1 from the 1 h
// reading to the 2 h one (τ = 1 h); M2 is 20 km down at 1.0 m/s, T = 20 000 s, Jobson's
// σ = 1100 s, peak 0.05 × erf(3600/(2√2·1100)) = 0.05 × 0.898236 = 0.044912, threshold
// 0.022456. M2 reads 0.01, 0.04, 0.04, 0.01, 0 at 6–10 h: it rises at 7 h, verified; the
// velocity re-tunes as any arrival ((7 h − 30 min) − (1 h − 30 min) = 21 600 s,
// k = (20 000/21 600)^0.5 = 0.962250); the 10 h reading ends the passage and the dispersion
// re-tunes from σ_obs² = 7 344 000 s² to d = 2.463620. No event but the verdict, marked a
// drill; the next window of the reach travels at 0.962250 m/s with σ = 0.055 ×
// 20 784.61 × √2.463620 = 1794.28 s: leading edge 20 784.61 − 3588.57 = 17 196.04 s.
func TestATracerDrillRetunesTheReachsVelocityAndDispersion(t *testing.T) {
	e, _ := newTestEngine(t, Options{})
	var evs []message.Event
	evs = append(evs, applyAll(e, rd("M1", tracerParam, 0, 0), rd("M2", tracerParam, 0, 0),
		rd("M1", tracerParam, 0.05, h), rd("M1", tracerParam, 0, 2*h))...)
	if len(evs) != 0 {
		t.Fatalf("a tracer release said %v, want nothing", types(evs))
	}
	s := e.series[keyOf(e.siteIx["M1"], uint16(mustOrder(t, tracerParam)))]
	var win *prediction
	for i := range s.verifying {
		if s.verifying[i].site == e.siteIx["M2"] {
			win = &s.verifying[i]
		}
	}
	if win == nil || win.tr == nil || win.tr.spread != 1100000 || win.tr.duration != time.Hour.Milliseconds() ||
		math.Abs(win.win.PeakConcentration-0.044912) > 1e-6 || math.Abs(win.threshold-0.022456) > 1e-6 {
		t.Fatalf("tracer window at M2 %+v", win)
	}
	for i, v := range []float64{0, 0, 0, 0.01, 0.04} { // 3 h … 7 h
		evs = append(evs, e.Apply(rd("M2", tracerParam, v, time.Duration(3+i)*h))...)
	}
	ver := only(evs, message.EventPredictionVerified)
	if len(evs) != 1 || len(ver) != 1 || ver[0].Site != "M2" || ver[0].OriginSite != "M1" || ver[0].Parameter != tracerParam ||
		ver[0].Reason[:len("【演练】")] != "【演练】" {
		t.Fatalf("events %+v, want one prediction.verified at M2 marked a drill", evs)
	}
	if k, n := e.velocityScale(e.siteIx["M1"], e.siteIx["M2"]); math.Abs(k-0.962250) > 1e-6 || n != 1 {
		t.Errorf("velocity scale %.6f from %d, want 0.962250 from 1", k, n)
	}
	if d := e.dispersionScale(e.siteIx["M1"], e.siteIx["M2"]); d != 1 {
		t.Errorf("dispersion scale %g before the passage is over, want 1", d)
	}
	e.DrainState()
	if evs := applyAll(e, rd("M2", tracerParam, 0.04, 8*h), rd("M2", tracerParam, 0.01, 9*h), rd("M2", tracerParam, 0, 10*h)); len(evs) != 0 {
		t.Fatalf("the passage said %v", types(evs))
	}
	if d := e.dispersionScale(e.siteIx["M1"], e.siteIx["M2"]); math.Abs(d-2.463620) > 1e-6 {
		t.Fatalf("dispersion scale %.6f, want 2.463620", d)
	}
	var reach *ReachState
	for _, rec := range e.DrainState() {
		if rec.Reach != nil && rec.Key == "r|M1|M2" {
			reach = rec.Reach
		}
	}
	if reach == nil || math.Abs(reach.DispersionScale-2.463620) > 1e-6 || reach.Tracers != 1 || math.Abs(reach.VelocityScale-0.962250) > 1e-6 {
		t.Fatalf("reach record %+v", reach)
	}
	var g dto.Metric
	if err := e.m.reachDisp.WithLabelValues("M1", "M2").Write(&g); err != nil || math.Abs(g.GetGauge().GetValue()-2.463620) > 1e-6 {
		t.Errorf("riverwatch_assessor_reach_dispersion_scale_ratio{origin=M1,site=M2} = %v (%v)", g.GetGauge().GetValue(), err)
	}
	for i := range s.verifying {
		if s.verifying[i].site == e.siteIx["M2"] && s.verifying[i].watching() {
			t.Errorf("the fitted window at M2 is still watched")
		}
	}

	// Restored elsewhere, the next tracer's window uses both scales.
	restored, _ := newTestEngine(t, Options{})
	key, val, err := EncodeRecord(Record{Key: "r|M1|M2", Reach: reach})
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodeRecord(key, val)
	if err != nil {
		t.Fatal(err)
	}
	if err := restored.Import(back, false); err != nil {
		t.Fatal(err)
	}
	applyAll(restored, rd("M1", tracerParam, 0, 0), rd("M2", tracerParam, 0, 0), rd("M1", tracerParam, 0.05, h), rd("M1", tracerParam, 0, 2*h))
	s = restored.series[keyOf(restored.siteIx["M1"], uint16(mustOrder(t, tracerParam)))]
	win = nil
	for i := range s.verifying {
		if s.verifying[i].site == restored.siteIx["M2"] {
			win = &s.verifying[i]
		}
	}
	if win == nil || math.Abs(float64(win.tr.spread)-1794284.8) > 1 ||
		math.Abs(win.win.Leading.Sub(t0.Add(h)).Seconds()-17196.04) > 0.01 {
		t.Fatalf("re-tuned window %+v (spread %v)", win, win.tr)
	}
}

// TestOldReachRecordsDecodeWithAnUntunedDispersion: a record written before tracer drills
// has no dispersion_scale: d = 1.
func TestOldReachRecordsDecodeWithAnUntunedDispersion(t *testing.T) {
	e, _ := newTestEngine(t, Options{})
	r, err := DecodeRecord([]byte("r|M1|M2"), []byte(`{"reach":{"origin":"M1","site":"M2","velocity_scale":1.2,"verified":2,"p":0}}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Import(r, true); err != nil {
		t.Fatal(err)
	}
	if d := e.dispersionScale(e.siteIx["M1"], e.siteIx["M2"]); d != 1 {
		t.Errorf("dispersion scale %g, want 1", d)
	}
	if k, _ := e.velocityScale(e.siteIx["M1"], e.siteIx["M2"]); k != 1.2 {
		t.Errorf("velocity scale %g, want 1.2", k)
	}
}

func mustOrder(t *testing.T, code string) int {
	t.Helper()
	i := standard.Order(code)
	if i < 0 {
		t.Fatalf("unknown parameter %s", code)
	}
	return i
}
