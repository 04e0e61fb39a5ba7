package incident

import (
	"strings"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/services/responder/internal/playbook"
)

// prediction is the assessor's prediction at the intake MD of the exceedance ev1 at T2,
// which raises the incident to level III (drinking_source_threat).
func prediction(id string, at time.Time) message.Event {
	return message.Event{
		ID: id, Type: message.EventPredictionIssued, Site: "MD", Parameter: "nh3n", Value: 0.9, Limit: 0.5,
		Multiple: 0.8, OriginSite: "T2", OriginEventID: "ev1", ArrivalAt: t0.Add(9 * time.Hour),
		ObservedAt: t0, EmittedAt: at,
	}
}

func grouped(t *testing.T, g playbook.Grouping) (*Engine, *fakeClock) {
	t.Helper()
	e, clk := newEngine(t)
	e.books.Grouping = g
	return e, clk
}

func TestGroupingWaitSendsABurstAsOneRoundOfMessages(t *testing.T) {
	e, clk := grouped(t, playbook.Grouping{Wait: playbook.Duration(30 * time.Second)})
	mustEvent(t, e, exceed("ev1", "T2", "nh3n", 3.2, 1.0, t0), OutcomeOpened)
	if ds := deliverAll(e); len(ds) != 0 {
		t.Fatalf("%d messages before the wait was over", len(ds))
	}
	clk.Advance(10 * time.Second)
	mustEvent(t, e, prediction("pred1", clk.t), OutcomeGrouped) // the level rises within the wait
	clk.Advance(19 * time.Second)
	if ds := deliverAll(e); len(ds) != 0 {
		t.Fatalf("%d messages at 29 s", len(ds))
	}
	clk.Advance(time.Second)
	ds := deliverAll(e)
	if len(ds) == 0 {
		t.Fatal("nothing sent once the wait was over")
	}
	if u := byKind(ds, KindUpdate); len(u) != 0 {
		t.Errorf("%d level updates to people who had not been told anything yet", len(u))
	}
	for _, d := range ds {
		if !strings.HasPrefix(d.Subject, "【III级·黄色预警】") {
			t.Errorf("a first message says %q, not the level reached in the burst", d.Subject)
		}
	}
}

func TestGroupingIntervalFoldsUpdatesIntoOne(t *testing.T) {
	e, clk := grouped(t, playbook.Grouping{Interval: playbook.Duration(5 * time.Minute)})
	mustEvent(t, e, exceed("ev1", "T2", "nh3n", 3.2, 1.0, t0), OutcomeOpened)
	id, _ := e.IncidentOf("ev1")
	first := recipientsOf(deliverAll(e)) // told at t0
	// The level rises twice within the interval since they were told: IV → III (the
	// prediction at the intake), then III → II (a severe exceedance at the intake).
	clk.Advance(time.Minute)
	mustEvent(t, e, prediction("pred1", clk.t), OutcomeGrouped)
	if u := byKind(deliverAll(e), KindUpdate); len(u) != 0 {
		t.Fatalf("%d updates a minute after the first messages: want them held for the 5-minute interval", len(u))
	}
	clk.Advance(time.Minute)
	mustEvent(t, e, message.Event{
		ID: "ev2", Type: message.EventExceedanceOpened, Site: "MD", Parameter: "nh3n", Value: 1.6, Limit: 0.5,
		Multiple: 2.2, Severity: "severe", ObservedAt: clk.t, EmittedAt: clk.t,
	}, OutcomeGrouped)
	if inc, _ := e.Get(id); inc.Level != "II" {
		t.Fatalf("level %s after the exceedance at the intake, want II", inc.Level)
	}
	clk.Advance(3*time.Minute - time.Second)
	if u := byKind(deliverAll(e), KindUpdate); len(u) != 0 {
		t.Fatalf("%d updates before the interval was over", len(u))
	}
	clk.Advance(time.Second)
	u := byKind(deliverAll(e), KindUpdate)
	if got := recipientsOf(u); len(got) != len(first) {
		t.Fatalf("updates to %v once the interval was over, want one to each of %v", got, first)
	}
	for _, d := range u {
		if !strings.Contains(d.Body, "II级") || !strings.HasPrefix(d.Subject, "【II级") {
			t.Errorf("the held update says %q / %q, not the latest level", d.Subject, d.Body)
		}
	}
}

func TestGroupingRepeatSendsFollowUpReportsWhileOpen(t *testing.T) {
	e, clk := grouped(t, playbook.Grouping{Repeat: playbook.Duration(2 * time.Hour)})
	mustEvent(t, e, exceed("ev1", "T2", "nh3n", 3.2, 1.0, t0), OutcomeOpened)
	id, _ := e.IncidentOf("ev1")
	told := len(recipientsOf(deliverAll(e)))
	var reports [][]Delivery
	for range 5 { // 2 h 30 min of ticks every 30 minutes
		clk.Advance(30 * time.Minute)
		e.Tick()
		if f := byKind(deliverAll(e), KindFollowUp); len(f) > 0 {
			reports = append(reports, f)
		}
	}
	if len(reports) != 1 {
		t.Fatalf("%d follow-up rounds in 2.5 h with repeat 2h, want 1", len(reports))
	}
	if len(reports[0]) < told {
		t.Errorf("the follow-up went to %d, want everyone told (%d)", len(reports[0]), told)
	}
	if b := reports[0][0].Body; !strings.Contains(b, "【续报·第1次】") || !strings.Contains(b, "项任务（共") {
		t.Errorf("follow-up text %q", b)
	}
	// Once resolved, no more reports.
	_, ch := e.HandleCommand(message.Command{ID: "c-resolve", Type: message.CommandResolve, IncidentID: id, Actor: "a", ActorRole: "admin", ActorJurisdictions: []string{"*"}, At: clk.t})
	if ch.Empty() {
		t.Fatal("resolve applied nothing")
	}
	deliverAll(e)
	clk.Advance(4 * time.Hour)
	e.Tick()
	if f := byKind(deliverAll(e), KindFollowUp); len(f) != 0 {
		t.Errorf("%d follow-ups after the resolution", len(f))
	}
}
