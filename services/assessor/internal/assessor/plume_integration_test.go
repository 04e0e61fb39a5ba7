package assessor_test

import (
	"context"
	"math"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/stream"
	"github.com/riverwatch/riverwatch/pkg/testinfra"
	"github.com/riverwatch/riverwatch/services/assessor/internal/engine"
)

func countOf(evs []message.Event, typ string) int {
	n := 0
	for _, ev := range uniq(evs) {
		if ev.Type == typ {
			n++
		}
	}
	return n
}

func find(evs []message.Event, typ, site string) (message.Event, bool) {
	for _, ev := range evs {
		if ev.Type == typ && ev.Site == site {
			return ev, true
		}
	}
	return message.Event{}, false
}

// Two spills on the real network (configs/sites.yaml), both released at 1 h; neither river
// configures a transport, so the spread is Jobson's and the band's factor 1.5.
//
//   - STH-O1 → STH-D2: 16 km at 0.8 m/s, T = 20,000 s. Band, with STH-D2's hourly slack:
//     0.89·20000/1.5 − 3600 = 8267 s … 30000 + 3600 + 0.11·30000 + 3600 = 40500 s after the
//     release. C₀ = (100·0.6 + 10·5)/5.6 = 19.64 over the intake's 12: peak
//     12 + 7.64·erf(3600/(2√2·1100)) = 18.86, threshold half way, 15.43. COD 17 at 6 h
//     (18,000 s in): verified.
//   - TTH-S2 → TTH-S3: 30 km at 1 m/s, T = 30,000 s. Band 17800 − 3600 = 14,200 s …
//     45000 + 3600 + 0.11·45000 + 3600 = 57,150 s after the release (16 h 52.5 min). NH3-N
//     2.5, no background: peak 2.5·erf(3600/(2√2·1650)) = 1.81, threshold 0.906. Clean
//     readings at 11 h and 13 h, then 18 h, past the band: refuted (2 readings in it).
//
// The prediction at the intake STH-D2 recommends the interception (docs/plume.md,
// "Emergency spaces and interception"): issued at the release's start, the earliest edge
// (0.8 × 1.5 = 1.2 m/s, Jobson's 0.89) reaches the sluice STH-G1 at km 74, 8 km
// below the outfall, after 0.89·8000/1.2 = 5933 s; 8 km remain to the intake.
//
// The verification re-tunes STH-O1 → STH-D2 (docs/plume.md, "Re-tuning"): observed front
// (6 h − 30 min) − (1 h − 30 min) = 18,000 s against 20,000 s predicted, scale
// (20000/18000)^(1/2) = 1.054093, in the state topic; the refutation leaves TTH-S2 →
// TTH-S3 untuned.
func TestPredictionsAreVerifiedAndRefutedOnTheRealBroker(t *testing.T) {
	cfg := testConfig(t)
	run := newRun(t, cfg)
	run.start()
	run.publishScript([]step{
		{"STH-S1", "cod", 10, 0, "", ""},
		{"STH-D2", "cod", 12, 0, "", ""},
		{"STH-O1", "cod", 100, h, "", ""},
		{"TTH-S2", "nh3n", 2.5, h, "", ""},
	})
	// Sites travel on different partitions: the downstream readings go once both
	// predictions are out.
	run.waitFor("two predictions", func(evs []message.Event) bool { return countOf(evs, message.EventPredictionIssued) >= 2 })
	run.publish(
		step{"STH-D2", "cod", 17, 6 * h, "", ""},
		step{"TTH-S3", "nh3n", 0.3, 11 * h, "", ""},
		step{"TTH-S3", "nh3n", 0.3, 13 * h, "", ""},
		step{"TTH-S3", "nh3n", 0.3, 18 * h, "", ""},
	)
	run.waitFor("a verdict on each", func(evs []message.Event) bool {
		return countOf(evs, message.EventPredictionVerified) >= 1 && countOf(evs, message.EventPredictionRefuted) >= 1
	})
	run.stop(syscall.SIGTERM)

	run.mu.Lock()
	evs := uniq(run.events)
	run.mu.Unlock()
	v, ok := find(evs, message.EventPredictionVerified, "STH-D2")
	if !ok || v.ID != message.EventID(message.EventPredictionVerified, "STH-D2", "cod", base.Add(h), "STH-O1") ||
		v.Verification.RiseErrorS != 18000-17800 || v.Verification.Peak != 17 || v.Prediction.Origin != "STH-O1" {
		t.Errorf("verified: %+v", v)
	}
	issued, ok := find(evs, message.EventPredictionIssued, "STH-D2")
	ic := issued.Prediction.Interception
	if !ok || ic.Space != "STH-G1" || ic.Kind != "sluice" || ic.River != "santun" || ic.ToIntakeKm != 8 || ic.TimeLeftS != 5933 ||
		ic.ActBy.Sub(base.Add(h)).Round(time.Second) != 5933*time.Second || ic.Jurisdiction != "changji" || ic.Role != "emergency" {
		t.Errorf("the intake's prediction recommends %+v (%q), want the sluice STH-G1 with 5933 s left", ic, issued.Prediction.InterceptionNoneReason)
	}
	if s3, ok := find(evs, message.EventPredictionIssued, "TTH-S3"); !ok || !s3.Prediction.Interception.IsZero() || s3.Prediction.InterceptionNoneReason != "" {
		t.Errorf("a section's prediction carries an interception: %+v", s3.Prediction)
	}
	r, ok := find(evs, message.EventPredictionRefuted, "TTH-S3")
	if !ok || r.ID != message.EventID(message.EventPredictionRefuted, "TTH-S3", "nh3n", base.Add(h), "TTH-S2") ||
		!strings.Contains(r.Reason, "(2 readings)") {
		t.Errorf("refuted: %+v", r)
	}
	if n := countOf(evs, message.EventPredictionVerified) + countOf(evs, message.EventPredictionRefuted); n != 2 {
		t.Errorf("%d verdicts, want 2", n)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	state, err := stream.ReadCompacted(ctx, stream.ReaderConfig{Cluster: stream.Plain(cfg.Kafka.Brokers...)}, cfg.Assessor.StateTopic)
	if err != nil {
		t.Fatal(err)
	}
	rec, ok := state.Values["r|STH-O1|STH-D2"]
	if !ok {
		t.Fatalf("no re-tuned reach STH-O1 → STH-D2 in %s", cfg.Assessor.StateTopic)
	}
	got, err := engine.DecodeRecord([]byte("r|STH-O1|STH-D2"), rec)
	if err != nil || got.Reach == nil || math.Abs(got.Reach.VelocityScale-1.054093) > 1e-6 || got.Reach.Verified != 1 {
		t.Errorf("reach state %+v (%v), want scale 1.054093 from 1 arrival", got.Reach, err)
	}
	if _, ok := state.Values["r|TTH-S2|TTH-S3"]; ok {
		t.Error("the refuted reach TTH-S2 → TTH-S3 was re-tuned")
	}
}

// A tracer drill on the real network (docs/plume.md, "Tracer drills"): 0.05 mg/L of
// tracer at STH-S2 from the 1 h reading to the 2 h one (τ = 1 h). STH-D2 is 12 km down at
// 0.8 m/s without a D: T = 15 000 s, Jobson's σ = 825 s, peak 0.05 × erf(3600/(2√2·825)) =
// 0.0485, threshold 0.0243. STH-D2 reads 0.01, 0.04, 0.04, 0.01, 0 at 5–9 h (4–8 h after
// the release): the rise at 6 h is verified, marked a drill; the velocity re-tunes from
// (6 h − 30 min) − (1 h − 30 min) = 18 000 s: (15 000/18 000)^½ = 0.912871; the 9 h reading
// ends the passage: mean 5.5 h, variance 30.9 − 30.25 = 0.65 h² = 8 424 000 s², less
// 3600²/12: σ_obs² = 7 344 000 s², d = (7 344 000/825²)^½ = 10.790083^½ = 3.284826, read
// back from the state topic. Nothing else is said: the tracer is never judged.
func TestATracerDrillRetunesTheReachsDispersionOnTheRealBroker(t *testing.T) {
	cfg := testConfig(t)
	run := newRun(t, cfg)
	p := run.start()
	run.publish(
		step{"STH-S2", "tracer", 0, 0, "", ""},
		step{"STH-D2", "tracer", 0, 0, "", ""},
		step{"STH-S2", "tracer", 0.05, h, "", ""},
		step{"STH-S2", "tracer", 0, 2 * h, "", ""},
	)
	// The release's windows are announced to no one: wait until its readings are applied.
	testinfra.Eventually(t, 30*time.Second, "the release applied", func() bool {
		return p.metric(`riverwatch_assessor_readings_total{outcome="not_applicable"}`) >= 4
	})
	run.publish(
		step{"STH-D2", "tracer", 0.01, 5 * h, "", ""},
		step{"STH-D2", "tracer", 0.04, 6 * h, "", ""},
		step{"STH-D2", "tracer", 0.04, 7 * h, "", ""},
		step{"STH-D2", "tracer", 0.01, 8 * h, "", ""},
		step{"STH-D2", "tracer", 0, 9 * h, "", ""},
	)
	run.waitFor("the tracer's verdict", func(evs []message.Event) bool { return countOf(evs, message.EventPredictionVerified) >= 1 })
	testinfra.Eventually(t, 30*time.Second, "the dispersion re-tuned", func() bool {
		return p.metric(`riverwatch_assessor_reach_dispersion_scale_ratio{origin="STH-S2",site="STH-D2"}`) > 0
	})
	run.stop(syscall.SIGTERM)

	run.mu.Lock()
	evs := uniq(run.events)
	run.mu.Unlock()
	v, ok := find(evs, message.EventPredictionVerified, "STH-D2")
	if !ok || v.ID != message.EventID(message.EventPredictionVerified, "STH-D2", "tracer", base.Add(2*h), "STH-S2") ||
		!strings.HasPrefix(v.Reason, "【演练】") || v.Verification.Peak != 0.04 {
		t.Errorf("verified: %+v", v)
	}
	if len(evs) != 1 {
		t.Errorf("%d events, want the verdict alone: %+v", len(evs), evs)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	state, err := stream.ReadCompacted(ctx, stream.ReaderConfig{Cluster: stream.Plain(cfg.Kafka.Brokers...)}, cfg.Assessor.StateTopic)
	if err != nil {
		t.Fatal(err)
	}
	rec, ok := state.Values["r|STH-S2|STH-D2"]
	if !ok {
		t.Fatalf("no re-tuned reach STH-S2 → STH-D2 in %s", cfg.Assessor.StateTopic)
	}
	got, err := engine.DecodeRecord([]byte("r|STH-S2|STH-D2"), rec)
	if err != nil || got.Reach == nil || math.Abs(got.Reach.DispersionScale-3.284826) > 1e-6 || got.Reach.Tracers != 1 ||
		math.Abs(got.Reach.VelocityScale-0.912871) > 1e-6 || got.Reach.Verified != 1 {
		t.Errorf("reach state %+v (%v), want dispersion 3.284826 from 1 tracer, velocity 0.912871 from 1 arrival", got.Reach, err)
	}
}
