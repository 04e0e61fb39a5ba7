package incident

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/auth"
	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/network"
	"github.com/riverwatch/riverwatch/pkg/notify"
	"github.com/riverwatch/riverwatch/services/responder/internal/playbook"
)

// newTreeEngine builds an engine over the river-chief tree of testdata/tree (village →
// town → county → city, and a division without parent), starting at start.
func newTreeEngine(t *testing.T, start time.Time) (*Engine, *fakeClock) {
	t.Helper()
	net, err := network.Load("testdata/tree/network.yaml")
	if err != nil {
		t.Fatal(err)
	}
	contacts, err := notify.LoadContacts("testdata/tree/contacts.yaml", net, "http://127.0.0.1:8085/hook")
	if err != nil {
		t.Fatal(err)
	}
	books, err := playbook.Load("testdata/tree/playbooks.yaml", net, contacts)
	if err != nil {
		t.Fatal(err)
	}
	clk := &fakeClock{t: start}
	return New(Config{GroupWindow: 6 * time.Hour, MaxEventAge: 24 * time.Hour, Retain: 48 * time.Hour}, clk, net, books, contacts), clk
}

var shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return loc
}()

// sent is what a run of the clock delivered: "kind→jurisdiction/name" in order.
func sent(ds []Delivery) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Kind+"→"+d.Jurisdiction+"/"+d.Name)
	}
	return out
}

// runFor ticks the clock every minute for d, delivering what falls due; receiptAt > 0
// confirms the step's receipt that long after the start.
func runFor(t *testing.T, e *Engine, clk *fakeClock, incID, stepID string, d, receiptAt time.Duration) []string {
	t.Helper()
	var out []string
	start := clk.t
	for clk.t.Sub(start) < d {
		clk.Advance(time.Minute)
		if receiptAt > 0 && clk.t.Sub(start) == receiptAt {
			cmd := message.Command{ActorRole: auth.RoleAdmin, ActorJurisdictions: everywhere, ID: "rc-" + stepID, Type: message.CommandConfirmReceipt, IncidentID: incID, StepID: stepID, Actor: "tester", At: clk.t}
			if got, _ := e.HandleCommand(cmd); got != CommandApplied {
				t.Fatalf("confirm receipt: %s", got)
			}
		}
		e.Tick()
		out = append(out, sent(deliverAll(e))...)
	}
	return out
}

func TestUnacknowledgedStepClimbsTheTreeOnTheRotaOfThatHour(t *testing.T) {
	const step = "climb.verify.village"
	tests := []struct {
		name      string
		start     time.Time // local time the exceedance opens the incident
		receiptAt time.Duration
		want      []string
	}{
		{
			name:  "a weekday evening: the town's night shift, then the county's desk",
			start: time.Date(2026, 11, 30, 19, 0, 0, 0, shanghai), // Monday
			want: []string{"reminder→village/村河长", "reminder→village/村河长",
				"escalation→town/镇夜班", "escalation→county/县值班室"},
		},
		{
			name:  "a county holiday morning: the town's day shift, then the county's holiday shift",
			start: time.Date(2026, 12, 1, 10, 0, 0, 0, shanghai), // Tuesday, a holiday in the county's rota
			want: []string{"reminder→village/村河长", "reminder→village/村河长",
				"escalation→town/镇白班", "escalation→county/县节日班"},
		},
		{
			name:  "a weekend: no shift covers the hour, the desks are told",
			start: time.Date(2026, 12, 5, 10, 0, 0, 0, shanghai), // Saturday
			want: []string{"reminder→village/村河长", "reminder→village/村河长",
				"escalation→town/镇值班室", "escalation→county/县值班室"},
		},
		{
			name:      "a receipt after the first reminder stops the climb",
			start:     time.Date(2026, 11, 30, 19, 0, 0, 0, shanghai),
			receiptAt: 15 * time.Minute,
			want:      []string{"reminder→village/村河长"},
		},
		{
			name:      "a receipt at once: no reminder, no escalation",
			start:     time.Date(2026, 11, 30, 19, 0, 0, 0, shanghai),
			receiptAt: time.Minute,
			want:      nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, clk := newTreeEngine(t, tt.start.UTC())
			mustEvent(t, e, exceed("ev1", "V1", "nh3n", 3.2, 1.0, clk.t), OutcomeOpened)
			id, _ := e.IncidentOf("ev1")
			if got := sent(deliverAll(e)); !slices.Equal(got, []string{"assign→village/村河长"}) {
				t.Fatalf("opening sent %v", got)
			}
			got := runFor(t, e, clk, id, step, time.Hour, tt.receiptAt)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("sent %v\nwant %v", got, tt.want)
			}
			inc, _ := e.Get(id)
			if len(tt.want) == 4 && inc.Steps[0].EscalatedTo != "county/river_chief_office" {
				t.Errorf("escalated_to = %q, want the last level climbed", inc.Steps[0].EscalatedTo)
			}
		})
	}
}

func TestEscalationWithoutAParentIsSkippedOnTheRecord(t *testing.T) {
	e, clk := newTreeEngine(t, time.Date(2026, 11, 30, 19, 0, 0, 0, shanghai).UTC())
	mustEvent(t, e, exceed("ev1", "D1", "nh3n", 3.2, 1.0, clk.t), OutcomeOpened)
	id, _ := e.IncidentOf("ev1")
	deliverAll(e)
	var logs []message.LogEntry
	start := clk.t
	var got []string
	for clk.t.Sub(start) < time.Hour {
		clk.Advance(time.Minute)
		logs = append(logs, logsOf(e.Tick())...)
		got = append(got, sent(deliverAll(e))...)
	}
	if want := []string{"reminder→division/师河长办", "reminder→division/师河长办"}; !slices.Equal(got, want) {
		t.Errorf("sent %v, want the reminders only", got)
	}
	skipped := 0
	for _, l := range logs {
		if l.Action == "escalation_skipped" && strings.Contains(l.Detail, "of division in the river-chief tree") {
			skipped++
		}
	}
	if skipped != 2 {
		t.Errorf("%d escalation_skipped entries naming the missing parent, want 2 (parent and grandparent): %v", skipped, logs)
	}
	if inc, _ := e.Get(id); inc.Steps[0].EscalatedAt != nil {
		t.Error("a step that climbed nowhere is marked escalated")
	}
}

func TestAcknowledgementExpiresAndAReopeningWithinTheWindowTellsTheAcknowledger(t *testing.T) {
	const step = "climb.verify.village"
	tests := []struct {
		name       string
		actor      string        // the acknowledging token's name
		reopenFrom time.Duration // after the resolution
		want       []string      // what the re-opening sends
	}{
		{"re-opened within renotify_within: the origin's desk that was told hears its ack expired", "村值班", time.Hour,
			[]string{"reacknowledge→village/村河长"}}, // instead of the re-opening message
		{"an acknowledger who is a contact by name is told by name, the others as usual", "村环保", time.Hour,
			[]string{"reacknowledge→village/村环保", "reopened→village/村河长"}},
		{"re-opened after renotify_within: only the re-opening message", "村值班", 3 * time.Hour,
			[]string{"reopened→village/村河长"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, clk := newTreeEngine(t, time.Date(2026, 11, 30, 19, 0, 0, 0, shanghai).UTC())
			mustEvent(t, e, exceed("ev1", "V1", "nh3n", 3.2, 1.0, clk.t), OutcomeOpened)
			id, _ := e.IncidentOf("ev1")
			deliverAll(e)
			cmd := func(cid, typ, stepID string) {
				t.Helper()
				c := message.Command{ActorRole: auth.RoleAdmin, ActorJurisdictions: []string{"village"}, ID: cid, Type: typ, IncidentID: id, StepID: stepID, Actor: tt.actor, At: clk.t}
				if got, _ := e.HandleCommand(c); got != CommandApplied {
					t.Fatalf("%s: %s", typ, got)
				}
			}
			clk.Advance(2 * time.Minute)
			cmd("ack", message.CommandAcknowledge, "")
			cmd("rc", message.CommandConfirmReceipt, step)
			if inc, _ := e.Get(id); inc.AckedBy != tt.actor || inc.AckedAt == nil || len(inc.Acknowledgements) != 1 {
				t.Fatalf("after ack: acked_by %q at %v, %d acknowledgements", inc.AckedBy, inc.AckedAt, len(inc.Acknowledgements))
			}
			clk.Advance(5 * time.Minute)
			cmd("res", message.CommandResolve, "")
			deliverAll(e)
			inc, _ := e.Get(id)
			if inc.AckedAt != nil || inc.AckedBy != "" {
				t.Errorf("the acknowledgement outlived the resolution: %v by %q", inc.AckedAt, inc.AckedBy)
			}
			if a := inc.Acknowledgements[0]; a.ExpiredAt == nil || a.Expiry != expiryResolved || a.By != tt.actor {
				t.Errorf("acknowledgement record after resolve: %+v", a)
			}

			clk.Advance(tt.reopenFrom)
			mustEvent(t, e, exceed("ev2", "V1", "nh3n", 2.5, 1.0, clk.t), OutcomeGrouped)
			inc, _ = e.Get(id)
			if inc.Status != message.IncidentOpen || inc.Steps[0].ReceiptAt != nil {
				t.Fatalf("re-opened: status %s, receipt %v; want open with the receipt expired", inc.Status, inc.Steps[0].ReceiptAt)
			}
			got := sent(deliverAll(e))
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("re-opening sent %v, want %v", got, tt.want)
			}
			// The re-opened step must be acknowledged again: its ladder runs from the start.
			got = runFor(t, e, clk, id, step, 15*time.Minute, 0)
			if want := []string{"reminder→village/村河长"}; !slices.Equal(got, want) {
				t.Errorf("after re-opening sent %v, want the first reminder again", got)
			}
		})
	}
}
