package engine

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
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
