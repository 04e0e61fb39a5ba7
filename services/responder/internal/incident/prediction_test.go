package incident

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
)

func TestPredictionWindowIsKeptInTheIncidentAndSaidInTheIntakeSteps(t *testing.T) {
	e, clk := newEngine(t)
	mustEvent(t, e, exceed("ev1", "T2", "nh3n", 3.2, 1.0, t0), OutcomeOpened)
	id, _ := e.IncidentOf("ev1")
	deliverAll(e)

	// Release at 10:00 Changji time; the window in Changji time: earliest 15:56, leading
	// 19:20, peak 1.25 mg/L at 20:30, back down 21:40, latest 03:13 the next day.
	win := message.Prediction{Site: "MD", Origin: "T2", Parameter: "nh3n", ReleaseStart: t0,
		Earliest: t0.Add(21360 * time.Second), Leading: t0.Add(33600 * time.Second), Peak: t0.Add(37800 * time.Second),
		Trailing: t0.Add(42000 * time.Second), Latest: t0.Add(62009 * time.Second),
		PeakConcentration: 1.25, Unit: "mg/L", Confidence: "low", VelocityMPS: 1, DistanceKm: 36}
	pred := func(id string, w message.Prediction) message.Event {
		return message.Event{ID: id, Type: message.EventPredictionIssued, Site: "MD", Parameter: "nh3n", Value: 0.9, Limit: 0.5,
			Multiple: 0.8, OriginSite: "T2", OriginEventID: "ev1", ArrivalAt: t0.Add(10 * time.Hour),
			ObservedAt: t0, EmittedAt: clk.t, Prediction: w}
	}
	clk.Advance(10 * time.Minute)
	mustEvent(t, e, pred("pred1", win), OutcomeGrouped)
	inc, _ := e.Get(id)
	if !slices.Equal(inc.Predictions, []message.Prediction{win}) {
		t.Fatalf("incident predictions %+v, want the window", inc.Predictions)
	}
	ds := deliverAll(e)
	const said = "最早05月01日15:56到达（预计05月01日19:20起），峰值约1.25mg/L（05月01日20:30前后），预计05月01日21:40后回落（最迟05月02日03:13）"
	for _, step := range []string{"drinking_source_threat.source_watch.jb", "drinking_source_threat.plant_prepare.jb"} {
		i := slices.IndexFunc(ds, func(d Delivery) bool { return d.StepID == step })
		if i < 0 || !strings.Contains(ds[i].Body, said) {
			t.Errorf("%s does not say the window: %+v", step, ds)
		}
	}

	// A worse re-issue replaces the window; the clearing removes it.
	worse := win
	worse.PeakConcentration = 2.5
	clk.Advance(time.Hour)
	mustEvent(t, e, pred("pred2", worse), OutcomeGrouped)
	if inc, _ := e.Get(id); !slices.Equal(inc.Predictions, []message.Prediction{worse}) {
		t.Errorf("after the re-issue: %+v, want only the worse window", inc.Predictions)
	}
	clk.Advance(time.Hour)
	mustEvent(t, e, message.Event{ID: "clr1", Type: message.EventPredictionCleared, Site: "MD", Parameter: "nh3n",
		OriginSite: "T2", ObservedAt: clk.t, EmittedAt: clk.t}, OutcomeCleared)
	if inc, _ := e.Get(id); inc.Predictions != nil {
		t.Errorf("after the clearing: %+v, want none", inc.Predictions)
	}
}

func TestAVerdictGoesOnTheRecordOfTheOriginsIncidentAndChangesNothingElse(t *testing.T) {
	e, clk := newEngine(t)
	mustEvent(t, e, exceed("ev1", "T2", "nh3n", 3.2, 1.0, t0), OutcomeOpened)
	id, _ := e.IncidentOf("ev1")
	deliverAll(e)
	before, _ := e.Get(id)

	clk.Advance(3 * time.Hour)
	ch := mustEvent(t, e, message.Event{ID: "ver1", Type: message.EventPredictionVerified, Site: "MD", Parameter: "nh3n",
		Value: 1.1, OriginSite: "T2", OriginEventID: "ev1", Reason: "rose within the window, +40m0s from the expected leading edge",
		ObservedAt: clk.t, EmittedAt: clk.t}, OutcomeGrouped)
	after, _ := e.Get(id)
	if !slices.Contains(after.EventIDs, "ver1") || len(after.Steps) != len(before.Steps) || after.Level != before.Level {
		t.Errorf("after the verdict: events %v, %d steps (was %d), level %s (was %s)", after.EventIDs, len(after.Steps), len(before.Steps), after.Level, before.Level)
	}
	logged := false
	for _, l := range logsOf(ch) {
		logged = logged || (l.Action == "prediction_verified" && strings.Contains(l.Detail, "+40m0s"))
	}
	if !logged {
		t.Errorf("audit trail %+v, want prediction_verified with the reason", logsOf(ch))
	}
	if n := len(deliverAll(e)); n != 0 {
		t.Errorf("a verdict notified %d recipients, want none", n)
	}
	// A verdict for no incident is unrelated, not an error.
	mustEvent(t, e, message.Event{ID: "ref1", Type: message.EventPredictionRefuted, Site: "MD", Parameter: "nh3n",
		OriginSite: "T2", OriginEventID: "unknown", ObservedAt: clk.t, EmittedAt: clk.t}, OutcomeUnrelated)
}

// The intake's warning names the emergency space the prediction recommends, with the time
// left counted to the sending (10:10 Changji time, the act-by 12:20: 2 h 10 min), or why
// there is none.
func TestTheIntakeWarningNamesTheInterception(t *testing.T) {
	tests := []struct {
		name string
		ic   message.Interception
		none string
		want string
	}{
		{"a sluice", message.Interception{Space: "G1", Name: "城北节制闸", Kind: "sluice", Km: 55, River: "main", ToIntakeKm: 5,
			ActBy: t0.Add(2*time.Hour + 20*time.Minute), TimeLeftS: 8400, Jurisdiction: "jb", Role: "emergency"}, "",
			"。建议在干流城北节制闸（km 55.0，由乙市emergency名操作）拦截，须在12:20前（剩余2小时10分）行动。请立即加密"},
		{"every space passed", message.Interception{}, "plume already past every space",
			"。污染团已越过沿途全部应急空间，无法在上游拦截。请立即加密"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, clk := newEngine(t)
			clk.Advance(10 * time.Minute)
			win := message.Prediction{Site: "MD", Origin: "T2", Parameter: "nh3n", ReleaseStart: t0,
				Earliest: t0.Add(3 * time.Hour), Leading: t0.Add(4 * time.Hour), Peak: t0.Add(5 * time.Hour),
				PeakConcentration: 1.25, Unit: "mg/L", Confidence: "low", DistanceKm: 20,
				Interception: tt.ic, InterceptionNoneReason: tt.none}
			mustEvent(t, e, message.Event{ID: "pred1", Type: message.EventPredictionIssued, Site: "MD", Parameter: "nh3n", Value: 0.9, Limit: 0.5,
				Multiple: 0.8, OriginSite: "T2", ArrivalAt: t0.Add(4 * time.Hour), ObservedAt: t0, EmittedAt: clk.t, Prediction: win}, OutcomeOpened)
			ds := deliverAll(e)
			i := slices.IndexFunc(ds, func(d Delivery) bool { return d.StepID == "drinking_source_threat.source_watch.jb" })
			if i < 0 || !strings.Contains(ds[i].Body, tt.want) {
				t.Fatalf("source_watch does not say %q: %+v", tt.want, ds)
			}
			if j := slices.IndexFunc(ds, func(d Delivery) bool { return d.StepID == "drinking_source_threat.plant_prepare.jb" }); j < 0 || strings.Contains(ds[j].Body, "拦截") {
				t.Errorf("plant_prepare (no {interception}) says it: %+v", ds)
			}
		})
	}
}
