package engine

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/plume"
)

// The spill of TestPredictionCarriesTheArrivalWindow: at T2 the window, after the release
// at t0 + 1 h, runs earliest 5933 s, leading 8900 s, peak 27.9702 at 11800 s, latest
// 20250 s. No background at T2, so the threshold is half the peak, 13.9851; T2's station
// reports hourly, so the band is 5933 − 3600 = 2333 s … 20250 + 3600 = 23850 s.
func spillAtTO(t *testing.T) (*Engine, *fakeClock, time.Time) {
	t.Helper()
	e, clk := newTestEngine(t, Options{})
	applyAll(e, rd("T1", "cod", 10, 0), rd("D1", "cod", 12, 0))
	if preds := only(e.Apply(rd("TO", "cod", 100, h)), message.EventPredictionIssued); len(preds) != 2 {
		t.Fatalf("predictions %+v", preds)
	}
	return e, clk, t0.Add(h)
}

func TestArrivalWithinTheWindowVerifiesThePrediction(t *testing.T) {
	e, _, start := spillAtTO(t)
	// Below the threshold at 2 h: not the plume. 25 at 3 h (10800 s): the rise, 1900 s
	// after the expected leading edge; 25 − 27.9702 = −2.9702 on the peak.
	if evs := only(applyAll(e, rd("T2", "cod", 12, 2*h)), message.EventPredictionVerified); len(evs) != 0 {
		t.Fatalf("verified below the threshold: %+v", evs)
	}
	evs := only(applyAll(e, rd("T2", "cod", 25, h+3*h)), message.EventPredictionVerified)
	if len(evs) != 1 {
		t.Fatalf("events %+v, want one prediction.verified", evs)
	}
	v := evs[0]
	want := message.EventID(message.EventPredictionVerified, "T2", "cod", start, "TO")
	if v.ID != want || v.Site != "T2" || v.OriginSite != "TO" || v.Prediction.Site != "T2" || !v.ObservedAt.Equal(start.Add(3*h)) {
		t.Errorf("verified %+v", v)
	}
	vf := v.Verification
	if vf.Outcome != "verified" || math.Abs(vf.Threshold-13.9851) > 1e-3 || vf.RiseErrorS != 1900 ||
		math.Abs(vf.PeakError+2.9702) > 1e-3 || !vf.RiseAt.Equal(start.Add(3*h)) {
		t.Errorf("verification %+v", vf)
	}
	// Said once: the next readings of the plume say nothing more.
	if evs := only(applyAll(e, rd("T2", "cod", 30, 5*h)), message.EventPredictionVerified); len(evs) != 0 {
		t.Errorf("verified twice: %+v", evs)
	}
}

func TestNoArrivalWithinTheWindowRefutesThePredictionWhenTheBandHasPassed(t *testing.T) {
	e, clk, start := spillAtTO(t)
	var refuted, cleared []message.Event
	// Clean hourly readings at T2 from 2 h to 8 h after t0: the old rule withdraws the
	// prediction (compliant after arrival + 2 h = 17200 s after the release); the band
	// runs to 23850 s (7 h 37.5 min after t0), so the refutation comes with the 8 h
	// reading, the first past the band.
	for at := 2 * h; at <= 8*h; at += h {
		evs := applyAll(e, rd("T2", "cod", 5, at))
		evs = append(evs, e.Tick(clk.t)...)
		cleared = append(cleared, only(evs, message.EventPredictionCleared)...)
		got := only(evs, message.EventPredictionRefuted)
		if len(got) > 0 && at < 8*h {
			t.Fatalf("refuted at %v, before the band passed: %+v", at, got)
		}
		refuted = append(refuted, got...)
	}
	if len(cleared) == 0 || !strings.HasPrefix(cleared[0].Reason, "refuted") {
		t.Errorf("the old rule's withdrawal: %+v", cleared)
	}
	// In the band (2333 … 23850 s after the release at 1 h): the readings at 2 h … 7 h.
	if len(refuted) != 1 || refuted[0].Site != "T2" || refuted[0].Verification.Outcome != "refuted" ||
		!strings.Contains(refuted[0].Reason, "(6 readings)") ||
		refuted[0].ID != message.EventID(message.EventPredictionRefuted, "T2", "cod", start, "TO") {
		t.Fatalf("refuted %+v", refuted)
	}
	if evs := only(e.Tick(clk.t), message.EventPredictionRefuted); len(evs) != 0 {
		t.Errorf("refuted twice: %+v", evs)
	}
}

func TestVerificationSurvivesARestore(t *testing.T) {
	e, _, start := spillAtTO(t)
	applyAll(e, rd("T2", "cod", 12, 2*h)) // seen, below the threshold: part of the passage
	restored, _ := newTestEngine(t, Options{})
	for _, rec := range e.ExportAll() {
		key, val, err := EncodeRecord(rec)
		if err != nil {
			t.Fatal(err)
		}
		back, err := DecodeRecord(key, val)
		if err != nil {
			t.Fatal(err)
		}
		if err := restored.Import(back, true); err != nil {
			t.Fatal(err)
		}
	}
	evs := only(applyAll(restored, rd("T2", "cod", 25, 4*h)), message.EventPredictionVerified)
	if len(evs) != 1 || evs[0].ID != message.EventID(message.EventPredictionVerified, "T2", "cod", start, "TO") {
		t.Fatalf("after a restore: %+v", evs)
	}
}

func TestTheBandPassingInStreamTimeRefutesWithoutAReadingThere(t *testing.T) {
	e, clk, _ := spillAtTO(t)
	for at := 2 * h; at <= 7*h; at += h {
		applyAll(e, rd("T2", "cod", 5, at))
		e.Tick(clk.t)
	}
	// T2 falls silent; a reading elsewhere moves the stream time past the band's end.
	applyAll(e, rd("M1", "cod", 10, 9*h))
	if evs := only(e.Tick(clk.t), message.EventPredictionRefuted); len(evs) != 1 || evs[0].Site != "T2" {
		t.Fatalf("refuted %+v", evs)
	}
}

// TestVerifiedArrivalsRetuneTheReachsVelocity: the arrival of TestArrivalWithinTheWindow…
// re-tunes TO → T2. The window predicted the front 10000 s after the release (5 km at
// 0.5 m/s); the rise came with the 4 h reading, the release opened with the 1 h one, both
// stations hourly: observed (4 h − 30 min) − (1 h − 30 min) = 10800 s. Ratio
// 10000/10800 = 0.925926, weight 1/(0 + 2): scale 0.925926^0.5 = 0.962250. The state
// carries it, and the next window of the reach travels at 0.5 × 0.962250 = 0.481125 m/s.
func TestVerifiedArrivalsRetuneTheReachsVelocity(t *testing.T) {
	e, _, _ := spillAtTO(t)
	e.DrainState()
	if evs := only(applyAll(e, rd("T2", "cod", 25, 4*h)), message.EventPredictionVerified); len(evs) != 1 {
		t.Fatalf("verified %+v", evs)
	}
	var reach *ReachState
	for _, rec := range e.DrainState() {
		if rec.Reach != nil {
			if rec.Key != "r|TO|T2" || reach != nil {
				t.Fatalf("reach record %q", rec.Key)
			}
			reach = rec.Reach
		}
	}
	if reach == nil || math.Abs(reach.VelocityScale-0.962250) > 1e-6 || reach.Verified != 1 {
		t.Fatalf("reach state %+v, want scale 0.962250 from 1 arrival", reach)
	}
	var g dto.Metric
	if err := e.m.reachScale.WithLabelValues("TO", "T2").Write(&g); err != nil || math.Abs(g.GetGauge().GetValue()-0.962250) > 1e-6 {
		t.Errorf("riverwatch_assessor_reach_velocity_scale_ratio{origin=TO,site=T2} = %v (%v)", g.GetGauge().GetValue(), err)
	}
	restored, _ := newTestEngine(t, Options{})
	key, val, err := EncodeRecord(Record{Key: "r|TO|T2", Reach: reach})
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodeRecord(key, val)
	if err != nil {
		t.Fatal(err)
	}
	if err := restored.Import(back, false); err != nil { // another instance's reach: still read
		t.Fatal(err)
	}
	applyAll(restored, rd("T1", "cod", 10, 0), rd("D1", "cod", 12, 0))
	var got *message.Prediction
	for _, ev := range only(restored.Apply(rd("TO", "cod", 100, h)), message.EventPredictionIssued) {
		if ev.Site == "T2" {
			got = &ev.Prediction
		}
	}
	if got == nil || math.Abs(got.VelocityMPS-0.481125) > 1e-5 || got.Confidence != "low" {
		t.Fatalf("re-tuned window %+v, want 0.481125 m/s, confidence still low", got)
	}
}

func TestRetuningFollowsTheArrivalsWithinTheBand(t *testing.T) {
	hour := time.Hour
	tests := []struct {
		name     string
		arrivals []time.Duration // rise − release of each verified arrival (hourly stations)
		want     float64
		verified int
		high     bool
	}{
		// 0.9622504 × 0.925926^(1/3) = 0.9622504 × 0.9746721 = 0.937879.
		{"two late arrivals move it twice, the second by a third", []time.Duration{3 * hour, 3 * hour}, 0.937879, 2, false},
		// 10000/5000 = 2: 2^0.5 = 1.414214.
		{"an early arrival speeds it", []time.Duration{5000 * time.Second}, 1.414214, 1, false},
		// Ten arrivals three times as slow: the scale stops at 1/f = 1/1.5.
		{"it stays within the band's factor", slices.Repeat([]time.Duration{30000 * time.Second}, 10), 1 / 1.5, 10, true},
		// Three on time: unchanged, but calibrated.
		{"three arrivals on time make the reach's confidence high", slices.Repeat([]time.Duration{10000 * time.Second}, 3), 1, 3, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, _ := newTestEngine(t, Options{})
			origin, site := e.siteIx["TO"], e.siteIx["T2"]
			s := &series{key: keyOf(origin, 0), partition: 3}
			release := t0.Add(h)
			for _, a := range tc.arrivals {
				p := &prediction{site: site, travel: 10000 * 1000, win: message.Prediction{Site: "T2", ReleaseStart: release}}
				e.retune(s, p, plume.Verdict{Outcome: plume.OutcomeVerified, RiseAt: release.Add(a)})
			}
			scale, n := e.velocityScale(origin, site)
			if math.Abs(scale-tc.want) > 1e-6 || n != tc.verified {
				t.Errorf("scale %.6f from %d arrivals, want %.6f from %d", scale, n, tc.want, tc.verified)
			}
			if recs := e.DrainState(); len(recs) != 1 || recs[0].Reach == nil || recs[0].Reach.Partition != 3 {
				t.Errorf("state %+v, want one reach record of partition 3", recs)
			}
			if high := n >= tuneHighAfter; high != tc.high {
				t.Errorf("high confidence %v, want %v", high, tc.high)
			}
		})
	}
}

func TestARefutedPredictionLeavesTheReachAsItWas(t *testing.T) {
	e, clk, _ := spillAtTO(t)
	for at := 2 * h; at <= 8*h; at += h {
		applyAll(e, rd("T2", "cod", 5, at))
		e.Tick(clk.t)
	}
	for _, rec := range e.DrainState() {
		if rec.Reach != nil {
			t.Errorf("a refutation re-tuned %s", rec.Key)
		}
	}
	if scale, n := e.velocityScale(e.siteIx["TO"], e.siteIx["T2"]); scale != 1 || n != 0 {
		t.Errorf("scale %v from %d arrivals", scale, n)
	}
}
