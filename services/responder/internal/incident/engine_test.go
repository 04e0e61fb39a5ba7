package incident

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/auth"
	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/network"
	"github.com/riverwatch/riverwatch/pkg/notify"
	"github.com/riverwatch/riverwatch/services/responder/internal/playbook"
)

// everywhere is an admin's jurisdictions: the commands of tests that are not about
// authorisation come from an admin.
var everywhere = []string{auth.AllJurisdictions}

type fakeClock struct{ t time.Time }

func (c *fakeClock) Now() time.Time          { return c.t }
func (c *fakeClock) Advance(d time.Duration) { c.t = c.t.Add(d) }

var t0 = time.Date(2026, 5, 1, 2, 0, 0, 0, time.UTC) // 10:00 in Changji

// newEngine builds an engine over the test network (a tributary, three jurisdictions) with
// the project's real playbooks.
func newEngine(t *testing.T) (*Engine, *fakeClock) {
	t.Helper()
	net, err := network.Load("testdata/network.yaml")
	if err != nil {
		t.Fatal(err)
	}
	contacts, err := notify.LoadContacts("testdata/contacts.yaml", net, "http://127.0.0.1:8085/hook")
	if err != nil {
		t.Fatal(err)
	}
	books, err := playbook.Load(filepath.Join("..", "..", "..", "..", "configs", "playbooks.yaml"), net, contacts)
	if err != nil {
		t.Fatal(err)
	}
	clk := &fakeClock{t: t0}
	return New(Config{GroupWindow: 6 * time.Hour, MaxEventAge: 24 * time.Hour, Retain: 48 * time.Hour}, clk, net, books, contacts), clk
}

func exceed(id, site, param string, value, limit float64, at time.Time) message.Event {
	return message.Event{
		ID: id, Type: message.EventExceedanceOpened, Site: site, Parameter: param, Value: value, Limit: limit,
		Multiple: (value - limit) / limit, Severity: "warning", ObservedAt: at, EmittedAt: at,
	}
}

func mustEvent(t *testing.T, e *Engine, ev message.Event, want string) Changes {
	t.Helper()
	got, ch, err := e.HandleEvent(ev)
	if err != nil || got != want {
		t.Fatalf("HandleEvent(%s %s at %s) = %s, %v; want %s", ev.ID, ev.Type, ev.Site, got, err, want)
	}
	return ch
}

// deliverAll delivers every due notification successfully and returns them.
func deliverAll(e *Engine) []Delivery {
	ds, _ := e.StartDeliveries(1000)
	for _, d := range ds {
		e.FinishDelivery(d, nil, false)
	}
	return ds
}

func stepIDs(inc message.Incident) []string {
	var out []string
	for _, s := range inc.Steps {
		out = append(out, s.ID)
	}
	sort.Strings(out)
	return out
}

func byKind(ds []Delivery, kind string) []Delivery {
	var out []Delivery
	for _, d := range ds {
		if d.Kind == kind {
			out = append(out, d)
		}
	}
	return out
}

func recipientsOf(ds []Delivery) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.StepID+"→"+d.Jurisdiction+"/"+d.Role)
	}
	sort.Strings(out)
	return out
}

func TestExceedanceOnTributaryAssignsStepsUpAndDownstream(t *testing.T) {
	e, _ := newEngine(t)
	ch := mustEvent(t, e, exceed("ev1", "T2", "nh3n", 3.2, 1.0, t0), OutcomeOpened)
	id, _ := e.IncidentOf("ev1")
	inc, _ := e.Get(id)

	if inc.Status != message.IncidentOpen || inc.Level != "IV" || inc.Colour != "blue" || inc.Playbook != "section_exceedance" {
		t.Fatalf("incident = %s level %s %s playbook %s", inc.Status, inc.Level, inc.Colour, inc.Playbook)
	}
	want := []string{
		"section_exceedance.initial_report.ja", "section_exceedance.search_upstream.jc",
		"section_exceedance.verify.ja", "section_exceedance.warn_downstream.jb", "section_exceedance.warn_downstream.jc",
	}
	if got := stepIDs(inc); !slices.Equal(got, want) {
		t.Fatalf("steps = %v\nwant %v", got, want)
	}
	if j := slices.Sorted(slices.Values(inc.Jurisdictions)); !slices.Equal(j, []string{"ja", "jb", "jc"}) {
		t.Errorf("jurisdictions = %v", j)
	}
	if len(ch.Updates) == 0 || ch.Updates[0].Kind != message.UpdateIncident || len(ch.Dirty) != 1 {
		t.Errorf("changes: %d updates, first %q, dirty %v", len(ch.Updates), ch.Updates[0].Kind, ch.Dirty)
	}

	ds := deliverAll(e)
	texts := map[string]Delivery{}
	for _, d := range ds {
		texts[d.StepID] = d
	}
	if len(ds) != 5 {
		t.Fatalf("%d deliveries, want one per step: %v", len(ds), recipientsOf(ds))
	}
	search := texts["section_exceedance.search_upstream.jc"]
	if search.Kind != playbook.KindSearch || !strings.Contains(search.Body, "【溯源排查】下游支流甲市断面") || !strings.Contains(search.Body, "支流源头断面") {
		t.Errorf("search report upstream: kind %s body %q", search.Kind, search.Body)
	}
	warn := texts["section_exceedance.warn_downstream.jb"]
	for _, s := range []string{"上游支流甲市断面", "氨氮", "3.2mg/L", "超过III类标准限值（≤1mg/L），超标2.2倍", "05月01日18:20（约8.3小时后）", "干流乙市断面", "相距20.0公里", "请收到后立即确认回执"} {
		if !strings.Contains(warn.Body, s) {
			t.Errorf("downstream warning lacks %q:\n%s", s, warn.Body)
		}
	}
	if warn.Subject != "【IV级·蓝色预警】支流甲市断面氨氮超标" {
		t.Errorf("subject = %q", warn.Subject)
	}
	inc, _ = e.Get(id)
	for _, s := range inc.Steps {
		if s.NotifiedAt == nil {
			t.Errorf("step %s has no notified_at after delivery", s.ID)
		}
	}
}

func TestGroupingJoinsRelatedEventsOnly(t *testing.T) {
	cases := []struct {
		name string
		ev   message.Event
		want string
	}{
		{"same parameter group downstream within the window", exceed("ev2", "M2", "tp", 0.5, 0.2, t0.Add(2*time.Hour)), OutcomeGrouped},
		{"same parameter at the same site", exceed("ev2", "T2", "nh3n", 4, 1, t0.Add(time.Hour)), OutcomeGrouped},
		{"another parameter group", exceed("ev2", "M2", "cod", 40, 20, t0.Add(time.Hour)), OutcomeOpened},
		{"a site not connected along the flow", exceed("ev2", "M1", "nh3n", 3, 1, t0.Add(time.Hour)), OutcomeOpened},
		{"beyond the group window", exceed("ev2", "M2", "nh3n", 3, 1, t0.Add(7*time.Hour)), OutcomeOpened},
		{"a replay of the first event", exceed("ev1", "T2", "nh3n", 3.2, 1, t0), OutcomeDuplicate},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, clk := newEngine(t)
			mustEvent(t, e, exceed("ev1", "T2", "nh3n", 3.2, 1.0, t0), OutcomeOpened)
			first, _ := e.IncidentOf("ev1")
			clk.t = tc.ev.ObservedAt
			mustEvent(t, e, tc.ev, tc.want)
			second, _ := e.IncidentOf(tc.ev.ID)
			if same := first == second; same != (tc.want != OutcomeOpened) {
				t.Fatalf("event in %s, first in %s", second, first)
			}
			if tc.want == OutcomeGrouped {
				inc, _ := e.Get(first)
				if len(inc.EventIDs) != 2 || !slices.Contains(inc.Sites, tc.ev.Site) {
					t.Errorf("grown incident: events %v sites %v", inc.EventIDs, inc.Sites)
				}
			}
		})
	}
}

func TestPredictionAtIntakeGrowsIncidentRaisesLevelAndTellsEveryone(t *testing.T) {
	e, clk := newEngine(t)
	mustEvent(t, e, exceed("ev1", "T2", "nh3n", 3.2, 1.0, t0), OutcomeOpened)
	id, _ := e.IncidentOf("ev1")
	first := deliverAll(e)

	clk.Advance(10 * time.Minute)
	mustEvent(t, e, message.Event{
		ID: "pred1", Type: message.EventPredictionIssued, Site: "MD", Parameter: "nh3n", Value: 0.9, Limit: 0.5,
		Multiple: 0.8, OriginSite: "T2", OriginEventID: "ev1", ArrivalAt: t0.Add(9 * time.Hour),
		ObservedAt: t0, EmittedAt: clk.t,
	}, OutcomeGrouped)
	inc, _ := e.Get(id)
	if inc.Level != "III" || inc.Colour != "yellow" || !slices.Equal(inc.Playbooks, []string{"section_exceedance", "drinking_source_threat"}) {
		t.Fatalf("after prediction: level %s %s playbooks %v", inc.Level, inc.Colour, inc.Playbooks)
	}
	for _, s := range []string{"drinking_source_threat.source_watch.jb", "drinking_source_threat.plant_prepare.jb", "drinking_source_threat.report_up.jb"} {
		if !slices.Contains(stepIDs(inc), s) {
			t.Errorf("missing step %s", s)
		}
	}
	ds := deliverAll(e)
	updates := byKind(ds, KindUpdate)
	if len(updates) != len(first) {
		t.Errorf("level change went to %d recipients, want the %d notified before", len(updates), len(first))
	}
	for _, u := range updates {
		if !strings.Contains(u.Body, "事件级别调整为III级（黄色预警）") || !strings.HasPrefix(u.Subject, "【III级·黄色预警】") {
			t.Errorf("update: %q / %q", u.Subject, u.Body)
		}
	}
	plant := slices.IndexFunc(ds, func(d Delivery) bool { return d.StepID == "drinking_source_threat.plant_prepare.jb" })
	if plant < 0 || !strings.Contains(ds[plant].Body, "预计到达05月01日19:00") {
		t.Errorf("water plant message lacks the predicted arrival: %+v", ds)
	}
}

func escalations(ds []Delivery) []string { return recipientsOf(byKind(ds, KindEscalation)) }

func TestEscalationAfterTheDeadlineAndAcknowledgementStopsIt(t *testing.T) {
	t.Run("nobody answers", func(t *testing.T) {
		e, clk := newEngine(t)
		mustEvent(t, e, exceed("ev1", "T2", "nh3n", 3.2, 1.0, t0), OutcomeOpened)
		deliverAll(e)
		clk.Advance(29 * time.Minute)
		e.Tick()
		if got := escalations(deliverAll(e)); len(got) != 0 {
			t.Fatalf("escalated before 30 min: %v", got)
		}
		clk.Advance(time.Minute)
		e.Tick()
		want := []string{
			"section_exceedance.search_upstream.jc→jc/river_chief_office",
			"section_exceedance.verify.ja→ja/eeb",
			"section_exceedance.warn_downstream.jb→jb/eeb",
			"section_exceedance.warn_downstream.jc→jc/eeb",
		}
		if got := escalations(deliverAll(e)); !slices.Equal(got, want) {
			t.Fatalf("at 30 min escalated %v\nwant %v", got, want)
		}
		clk.Advance(30 * time.Minute)
		e.Tick()
		want = []string{
			"section_exceedance.initial_report.ja→ja/emergency",
			"section_exceedance.search_upstream.jc→jc/emergency",
			"section_exceedance.verify.ja→ja/emergency",
		}
		if got := escalations(deliverAll(e)); !slices.Equal(got, want) {
			t.Fatalf("at the 1 h deadline escalated %v\nwant %v", got, want)
		}
		clk.Advance(5 * time.Hour)
		e.Tick()
		if got := escalations(deliverAll(e)); len(got) != 0 {
			t.Fatalf("a rule fired twice: %v", got)
		}
		id, _ := e.IncidentOf("ev1")
		inc, _ := e.Get(id)
		for _, s := range inc.Steps {
			if s.EscalatedAt == nil || s.EscalatedTo == "" {
				t.Errorf("step %s not marked escalated", s.ID)
			}
		}
	})
	t.Run("receipts, acknowledgement and done steps", func(t *testing.T) {
		e, clk := newEngine(t)
		mustEvent(t, e, exceed("ev1", "T2", "nh3n", 3.2, 1.0, t0), OutcomeOpened)
		id, _ := e.IncidentOf("ev1")
		deliverAll(e)
		clk.Advance(10 * time.Minute)
		for i, c := range []message.Command{
			{Type: message.CommandConfirmReceipt, StepID: "section_exceedance.verify.ja"},
			{Type: message.CommandConfirmReceipt, StepID: "section_exceedance.warn_downstream.jb"},
			{Type: message.CommandAcknowledge},
			{Type: message.CommandStepDone, StepID: "section_exceedance.search_upstream.jc", Note: "排查完毕：上游无异常排放"},
		} {
			c.ID, c.IncidentID, c.Actor, c.At = "cmd"+string(rune('a'+i)), id, "tester", clk.t
			c.ActorRole, c.ActorJurisdictions = auth.RoleAdmin, everywhere
			if got, _ := e.HandleCommand(c); got != CommandApplied {
				t.Fatalf("command %s: %s", c.Type, got)
			}
		}
		clk.Advance(20 * time.Minute) // 30 min
		e.Tick()
		// The local office's acknowledgement does not stand in for the downstream
		// jurisdiction's receipt (AEWS): warn_downstream.jc still escalates.
		if got, want := escalations(deliverAll(e)), []string{"section_exceedance.warn_downstream.jc→jc/eeb"}; !slices.Equal(got, want) {
			t.Fatalf("at 30 min escalated %v, want %v", got, want)
		}
		clk.Advance(30 * time.Minute) // 1 h: not done
		e.Tick()
		want := []string{"section_exceedance.initial_report.ja→ja/emergency", "section_exceedance.verify.ja→ja/emergency"}
		if got := escalations(deliverAll(e)); !slices.Equal(got, want) {
			t.Fatalf("at 1 h escalated %v, want %v (the done search step must not)", got, want)
		}
		inc, _ := e.Get(id)
		if inc.Status != message.IncidentAcknowledged || inc.AckedAt == nil {
			t.Errorf("status %s", inc.Status)
		}
		i := slices.IndexFunc(inc.Steps, func(s message.Step) bool { return s.ID == "section_exceedance.search_upstream.jc" })
		if s := inc.Steps[i]; s.DoneAt == nil || s.Note != "排查完毕：上游无异常排放" || s.EscalatedAt != nil {
			t.Errorf("search step: %+v", s)
		}
	})
}

func TestRecoveryResolvesSendsEndOfAlertToEveryoneThenCloses(t *testing.T) {
	e, clk := newEngine(t)
	mustEvent(t, e, exceed("ev1", "T2", "nh3n", 3.2, 1.0, t0), OutcomeOpened)
	mustEvent(t, e, exceed("ev2", "M2", "nh3n", 1.5, 1.0, t0.Add(time.Hour)), OutcomeGrouped)
	id, _ := e.IncidentOf("ev1")
	notified := map[string]bool{}
	for _, d := range deliverAll(e) {
		notified[d.Jurisdiction+"/"+d.Role+"/"+d.Name] = true
	}
	clk.Advance(40 * time.Minute)
	e.Tick() // escalations add recipients, who must hear the End of Alert too
	for _, d := range deliverAll(e) {
		notified[d.Jurisdiction+"/"+d.Role+"/"+d.Name] = true
	}

	clear := func(evID, site string) message.Event {
		return message.Event{ID: evID, Type: message.EventExceedanceCleared, Site: site, Parameter: "nh3n", ObservedAt: clk.t, EmittedAt: clk.t}
	}
	mustEvent(t, e, clear("c1", "T2"), OutcomeCleared)
	clk.Advance(2 * time.Hour)
	e.Tick()
	if inc, _ := e.Get(id); inc.Status == message.IncidentResolved {
		t.Fatal("resolved while M2 still exceeds")
	}
	mustEvent(t, e, clear("c2", "M2"), OutcomeCleared)
	mustEvent(t, e, clear("c2", "M2"), OutcomeDuplicate)
	clk.Advance(59 * time.Minute)
	e.Tick()
	if inc, _ := e.Get(id); inc.Status == message.IncidentResolved {
		t.Fatal("resolved before the 1 h hold")
	}
	clk.Advance(time.Minute)
	e.Tick()
	inc, _ := e.Get(id)
	if inc.Status != message.IncidentResolved || inc.ResolvedAt == nil {
		t.Fatalf("status %s after the hold", inc.Status)
	}
	last := deliverAll(e)
	for _, d := range last {
		if d.Kind != KindEndOfAlert { // not-done escalations queued before the resolution
			notified[d.Jurisdiction+"/"+d.Role+"/"+d.Name] = true
		}
	}
	eoa := byKind(last, KindEndOfAlert)
	got := map[string]int{}
	for _, d := range eoa {
		got[d.Jurisdiction+"/"+d.Role+"/"+d.Name]++
		if !strings.HasPrefix(d.Body, "【解除预警】") || !strings.Contains(d.Body, "干流水质已恢复") || d.Subject != "【解除预警】支流甲市断面氨氮超标" {
			t.Errorf("End of Alert: %q / %q", d.Subject, d.Body)
		}
	}
	for r := range notified {
		if got[r] != 1 {
			t.Errorf("%s got %d End of Alert messages, want 1", r, got[r])
		}
	}
	if len(got) != len(notified) {
		t.Errorf("End of Alert to %d recipients, %d were notified", len(got), len(notified))
	}

	clk.Advance(24 * time.Hour)
	e.Tick()
	if inc, _ := e.Get(id); inc.Status != message.IncidentClosed || inc.ClosedAt == nil {
		t.Fatalf("status %s 24 h after resolution", inc.Status)
	}
	// At closing, the report of the result (处理结果报告) goes to the eeb role of every
	// jurisdiction concerned, written by pkg/incidentreport from the incident record.
	closed, _ := e.Get(id)
	final := byKind(deliverAll(e), KindFinalReport)
	var eebs []string
	for _, d := range final {
		eebs = append(eebs, d.Jurisdiction+"/"+d.Role)
		if d.Role != "eeb" || d.Subject != "【处理结果报告】支流甲市断面氨氮超标" || !strings.HasPrefix(d.Body, "突发水污染事件处理结果报告\n报送：eeb名\n") ||
			!strings.Contains(d.Body, "六、处理结果") || !strings.Contains(d.Body, "状态：已关闭") || !strings.Contains(d.Body, "排查") {
			t.Errorf("final report to %s/%s: %q\n%s", d.Jurisdiction, d.Role, d.Subject, d.Body)
		}
	}
	slices.Sort(eebs)
	var want []string
	for _, j := range closed.Jurisdictions {
		want = append(want, j+"/eeb")
	}
	slices.Sort(want)
	if !slices.Equal(eebs, want) {
		t.Errorf("final report to %v, want the eeb of every jurisdiction %v", eebs, want)
	}
	// A closed incident takes no more events: the same exceedance opens a new one.
	mustEvent(t, e, exceed("ev3", "T2", "nh3n", 2, 1.0, clk.t), OutcomeOpened)
	clk.Advance(48 * time.Hour)
	ch := e.Tick()
	if !slices.Contains(ch.Removed, id) {
		t.Fatalf("closed incident not dropped after the retention: %v", ch.Removed)
	}
}

func TestEventAfterResolutionReopensTheIncident(t *testing.T) {
	e, clk := newEngine(t)
	mustEvent(t, e, exceed("ev1", "T2", "nh3n", 3.2, 1.0, t0), OutcomeOpened)
	id, _ := e.IncidentOf("ev1")
	deliverAll(e)
	if got, _ := e.HandleCommand(message.Command{ActorRole: auth.RoleAdmin, ActorJurisdictions: everywhere, ID: "r1", Type: message.CommandResolve, IncidentID: id, Actor: "tester", At: clk.t}); got != CommandApplied {
		t.Fatalf("resolve: %s", got)
	}
	deliverAll(e)
	clk.Advance(2 * time.Hour)
	mustEvent(t, e, exceed("ev2", "T2", "nh3n", 2.5, 1.0, clk.t), OutcomeGrouped)
	inc, _ := e.Get(id)
	if inc.Status != message.IncidentOpen || inc.ResolvedAt != nil {
		t.Fatalf("status %s after a new exceedance", inc.Status)
	}
	if n := len(byKind(deliverAll(e), KindReopened)); n != 5 {
		t.Errorf("reopening told %d recipients, want 5", n)
	}
}

func logsOf(ch Changes) []message.LogEntry {
	var out []message.LogEntry
	for _, u := range ch.Updates {
		if u.Log != nil {
			out = append(out, *u.Log)
		}
	}
	return out
}

func TestCommandsLeaveTheirIDOnTheRecordOnce(t *testing.T) {
	e, clk := newEngine(t)
	mustEvent(t, e, exceed("ev1", "T2", "nh3n", 3.2, 1.0, t0), OutcomeOpened)
	id, _ := e.IncidentOf("ev1")
	cases := []struct {
		cmd     message.Command
		outcome string
		action  string
	}{
		{message.Command{ActorRole: auth.RoleAdmin, ActorJurisdictions: everywhere, ID: "c1", Type: message.CommandAcknowledge, IncidentID: id}, CommandApplied, "acknowledged"},
		{message.Command{ActorRole: auth.RoleAdmin, ActorJurisdictions: everywhere, ID: "c1", Type: message.CommandAcknowledge, IncidentID: id}, OutcomeDuplicate, ""},
		{message.Command{ActorRole: auth.RoleAdmin, ActorJurisdictions: everywhere, ID: "c2", Type: message.CommandAcknowledge, IncidentID: id}, CommandRejected, "command_rejected"},
		{message.Command{ActorRole: auth.RoleAdmin, ActorJurisdictions: everywhere, ID: "c3", Type: message.CommandStepDone, IncidentID: id, StepID: "nope"}, CommandRejected, "command_rejected"},
		{message.Command{ActorRole: auth.RoleAdmin, ActorJurisdictions: everywhere, ID: "c4", Type: message.CommandResolve, IncidentID: "inc-missing"}, CommandRejected, "command_rejected"},
		{message.Command{ActorRole: auth.RoleAdmin, ActorJurisdictions: everywhere, ID: "c5", Type: message.CommandResolve, IncidentID: id, Note: "现场处置完毕"}, CommandApplied, "resolved"},
		{message.Command{ActorRole: auth.RoleAdmin, ActorJurisdictions: everywhere, ID: "c6", Type: message.CommandAcknowledge, IncidentID: id, At: clk.t.Add(-48 * time.Hour)}, OutcomeStale, ""},
	}
	for _, tc := range cases {
		got, ch := e.HandleCommand(tc.cmd)
		if got != tc.outcome {
			t.Errorf("%s %s: outcome %s, want %s", tc.cmd.ID, tc.cmd.Type, got, tc.outcome)
			continue
		}
		logs := logsOf(ch)
		if tc.action == "" {
			if len(ch.Updates) != 0 {
				t.Errorf("%s: changes on a %s command", tc.cmd.ID, got)
			}
			continue
		}
		i := slices.IndexFunc(logs, func(l message.LogEntry) bool { return l.CommandID == tc.cmd.ID })
		if i < 0 || logs[i].Action != tc.action {
			t.Errorf("%s: logs %+v, want %s with the command id", tc.cmd.ID, logs, tc.action)
		}
	}
}

func TestDrillIsMarkedEverywhereAndReportsResponseTimes(t *testing.T) {
	e, clk := newEngine(t)
	got, _ := e.HandleCommand(message.Command{ActorRole: auth.RoleAdmin, ActorJurisdictions: everywhere, ID: "d1", Type: message.CommandDrill, Site: "M2", Parameter: "nh3n", Actor: "trainer", At: clk.t})
	if got != CommandApplied {
		t.Fatalf("drill: %s", got)
	}
	if again, _ := e.HandleCommand(message.Command{ActorRole: auth.RoleAdmin, ActorJurisdictions: everywhere, ID: "d1", Type: message.CommandDrill, Site: "M2", At: clk.t}); again != OutcomeDuplicate {
		t.Fatalf("replayed drill command: %s", again)
	}
	list := e.List()
	if len(list) != 1 || !list[0].Drill {
		t.Fatalf("incidents %+v", list)
	}
	id := list[0].ID
	ds := deliverAll(e)
	if len(ds) == 0 {
		t.Fatal("drill sent nothing")
	}
	for _, d := range ds {
		if !d.Drill || !strings.HasPrefix(d.Subject, "【演练】") || !strings.HasPrefix(d.Body, "【演练】") {
			t.Errorf("drill message not marked: %q / %q", d.Subject, d.Body)
		}
	}
	// A real exceedance at the same site does not join the drill.
	mustEvent(t, e, exceed("real1", "M2", "nh3n", 2, 1, clk.t), OutcomeOpened)

	clk.Advance(7 * time.Minute)
	e.HandleCommand(message.Command{ActorRole: auth.RoleAdmin, ActorJurisdictions: everywhere, ID: "d2", Type: message.CommandConfirmReceipt, IncidentID: id, StepID: "section_exceedance.verify.jb", At: clk.t})
	clk.Advance(8 * time.Minute)
	e.HandleCommand(message.Command{ActorRole: auth.RoleAdmin, ActorJurisdictions: everywhere, ID: "d3", Type: message.CommandStepDone, IncidentID: id, StepID: "section_exceedance.verify.jb", At: clk.t})
	_, ch := e.HandleCommand(message.Command{ActorRole: auth.RoleAdmin, ActorJurisdictions: everywhere, ID: "d4", Type: message.CommandResolve, IncidentID: id, At: clk.t})
	i := slices.IndexFunc(logsOf(ch), func(l message.LogEntry) bool { return l.Action == "drill_report" })
	if i < 0 || !strings.Contains(logsOf(ch)[i].Detail, "section_exceedance.verify.jb: receipt 7m0s, done 15m0s") {
		t.Fatalf("drill report: %+v", logsOf(ch))
	}
	inc, _ := e.Get(id)
	for _, r := range DrillReport(inc) {
		if r.StepID == "section_exceedance.verify.jb" && (r.Receipt == nil || *r.Receipt != 7*time.Minute) {
			t.Errorf("report %+v", r)
		}
	}
}

func TestDeliveryRetriesWithBackoffAndRestartRedeliversTheSameKey(t *testing.T) {
	e, clk := newEngine(t)
	mustEvent(t, e, exceed("ev1", "T2", "nh3n", 3.2, 1.0, t0), OutcomeOpened)
	id, _ := e.IncidentOf("ev1")
	ds, _ := e.StartDeliveries(2)
	if len(ds) != 2 {
		t.Fatalf("%d deliveries started, want 2", len(ds))
	}
	// One fails with a transient error: it comes back after the backoff, same key.
	ch := e.FinishDelivery(ds[0], errors.New("connection refused"), false)
	if len(ch.Updates) != 1 || ch.Updates[0].Notification.Status != statusFailed || ch.Updates[0].Notification.Attempt != 1 {
		t.Fatalf("attempt record %+v", ch.Updates)
	}
	if again, _ := e.StartDeliveries(100); slices.ContainsFunc(again, func(d Delivery) bool { return d.Key == ds[0].Key }) {
		t.Fatal("retried before the backoff")
	} else {
		// The other three of the first five were started now; leave them in flight.
		if len(again) != 3 {
			t.Fatalf("%d more started", len(again))
		}
	}
	clk.Advance(2 * time.Second)
	retry, _ := e.StartDeliveries(100)
	if len(retry) != 1 || retry[0].Key != ds[0].Key || retry[0].Attempt != 2 {
		t.Fatalf("retry %+v", retry)
	}
	// The other one hits a permanent error: no retry, recorded in the log.
	ch = e.FinishDelivery(ds[1], errors.New("HTTP 404"), true)
	if !slices.ContainsFunc(logsOf(ch), func(l message.LogEntry) bool { return l.Action == "notification_failed" }) {
		t.Fatalf("permanent failure not logged: %+v", ch.Updates)
	}

	// Crash now: the retry and three first attempts are "sending". Restore from the
	// serialised state re-queues exactly those, with the same keys.
	b, _, err := e.Marshal(id)
	if err != nil {
		t.Fatal(err)
	}
	st, err := Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	e2, _ := newEngine(t)
	e2.clock = clk
	rch := e2.Restore([]*State{st})
	interrupted := 0
	for _, u := range rch.Updates {
		if u.Notification != nil && u.Notification.Status == statusInterrupt {
			interrupted++
		}
	}
	if interrupted != 4 {
		t.Fatalf("%d interrupted attempts recorded, want 4", interrupted)
	}
	again := deliverAll(e2)
	if len(again) != 4 || !slices.ContainsFunc(again, func(d Delivery) bool { return d.Key == ds[0].Key && d.Attempt == 3 }) {
		t.Fatalf("after restore delivered %+v", again)
	}
	mustEvent(t, e2, exceed("ev1", "T2", "nh3n", 3.2, 1.0, t0), OutcomeDuplicate)
	if more, _ := e2.StartDeliveries(100); len(more) != 0 {
		t.Fatalf("delivered again: %+v", more)
	}
}

func TestStationOfflineIsMaintenanceOnly(t *testing.T) {
	e, clk := newEngine(t)
	mustEvent(t, e, message.Event{ID: "off1", Type: message.EventStationOffline, Site: "M2", ObservedAt: t0, EmittedAt: t0}, OutcomeOpened)
	mustEvent(t, e, exceed("ev1", "M2", "nh3n", 3, 1, t0), OutcomeOpened) // water quality: its own incident
	off, _ := e.IncidentOf("off1")
	inc, _ := e.Get(off)
	if inc.Level != "" || inc.Playbook != "station_maintenance" {
		t.Fatalf("maintenance incident level %q playbook %s", inc.Level, inc.Playbook)
	}
	for _, d := range deliverAll(e) {
		if d.IncidentID == off && d.Role != "maintenance" {
			t.Errorf("maintenance incident notified %s/%s", d.Jurisdiction, d.Role)
		}
		if d.IncidentID == off && !strings.HasPrefix(d.Subject, "【运维】") {
			t.Errorf("subject %q", d.Subject)
		}
	}
	mustEvent(t, e, message.Event{ID: "on1", Type: message.EventStationOnline, Site: "M2", ObservedAt: t0, EmittedAt: t0}, OutcomeCleared)
	clk.Advance(2 * time.Hour)
	e.Tick()
	if inc, _ := e.Get(off); inc.Status != message.IncidentResolved {
		t.Fatalf("status %s two hours after the station came back", inc.Status)
	}
}

func TestTimeScaleShortensPlaybookDurations(t *testing.T) {
	e, clk := newEngine(t)
	e.cfg.TimeScale = 60 // an hour lasts a minute
	mustEvent(t, e, exceed("ev1", "T2", "nh3n", 3.2, 1.0, t0), OutcomeOpened)
	id, _ := e.IncidentOf("ev1")
	inc, _ := e.Get(id)
	i := slices.IndexFunc(inc.Steps, func(s message.Step) bool { return s.ID == "section_exceedance.verify.ja" })
	if d := inc.Steps[i].Deadline.Sub(t0); d != time.Minute {
		t.Fatalf("a 1 h deadline at time scale 60 lasts %v", d)
	}
	deliverAll(e)
	clk.Advance(30 * time.Second)
	e.Tick()
	if got := escalations(deliverAll(e)); len(got) != 4 {
		t.Fatalf("after 30 s at scale 60: %v", got)
	}
}

func TestInvalidAndStaleEventsAreRefused(t *testing.T) {
	e, _ := newEngine(t)
	cases := []struct {
		ev   message.Event
		want string
	}{
		{message.Event{ID: "x", Type: message.EventExceedanceOpened, Site: "NOPE"}, OutcomeInvalid},
		{message.Event{ID: "x", Type: "exceedance.maybe", Site: "M2"}, OutcomeInvalid},
		{message.Event{Type: message.EventExceedanceOpened, Site: "M2"}, OutcomeInvalid},
		{exceed("old", "M2", "nh3n", 3, 1, t0.Add(-48*time.Hour)), OutcomeStale},
		{message.Event{ID: "cl", Type: message.EventExceedanceCleared, Site: "M2", Parameter: "nh3n", ObservedAt: t0}, OutcomeUnrelated},
		{message.Event{ID: "p", Type: message.EventPredictionIssued, Site: "M3", Parameter: "nh3n", ObservedAt: t0, EmittedAt: t0}, OutcomeNoPlaybook},
	}
	for _, tc := range cases {
		got, ch, err := e.HandleEvent(tc.ev)
		if got != tc.want || !ch.Empty() || (tc.want == OutcomeInvalid) != (err != nil) {
			t.Errorf("%+v → %s (%v), want %s", tc.ev, got, err, tc.want)
		}
	}
}

// BenchmarkIncidentLifecycle measures one incident's whole life through the engine, with
// 50 other incidents open beside it: the exceedance opens it (grouping, playbook steps,
// notifications), its deliveries are recorded, an operator resolves it (End of Alert), and
// it closes and is dropped.
func BenchmarkIncidentLifecycle(b *testing.B) {
	e, clk := newEngine(&testing.T{})
	e.cfg.Retain = time.Hour
	sites := []string{"T2", "M2", "M1", "M3", "T1"}
	params := []string{"nh3n", "cod", "cu", "phenol", "cyanide"}
	for i := 0; i < 50; i++ { // background: open incidents the grouping must look through
		clk.Advance(7 * time.Hour)
		e.HandleEvent(exceed(fmt.Sprint("bg", i), sites[i%5], params[i%5], 3, 1, clk.t))
		deliverAll(e)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		clk.Advance(time.Minute)
		ev := exceed(fmt.Sprint("bench", i), "M2", "sulfate", 300, 250, clk.t) // a group of its own
		if got, _, err := e.HandleEvent(ev); err != nil || got != OutcomeOpened {
			b.Fatal(got, err)
		}
		deliverAll(e)
		id, _ := e.IncidentOf(ev.ID)
		e.HandleCommand(message.Command{ActorRole: auth.RoleAdmin, ActorJurisdictions: everywhere, ID: "r" + ev.ID, Type: message.CommandResolve, IncidentID: id, At: clk.t})
		deliverAll(e)
		clk.Advance(25 * time.Hour)
		e.Tick()
		clk.Advance(2 * time.Hour)
		e.Tick()
		if _, ok := e.Get(id); ok {
			b.Fatal("incident not dropped")
		}
	}
}

func TestAThrottledDeliveryWaitsAsItsTargetAsked(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		attempts  int // failures before this one (the budget is MaxAttempts, 8)
		wantRetry time.Duration
		wantGone  bool // failed for good
	}{
		{"a plain failure backs off 2 s", errors.New("connection refused"), 0, 2 * time.Second, false},
		{"Retry-After beyond the backoff is honoured", &notify.RetryAfterError{After: time.Minute, Err: errors.New("HTTP 429")}, 0, time.Minute, false},
		{"Retry-After below the backoff keeps the backoff", &notify.RetryAfterError{After: time.Second, Err: errors.New("HTTP 429")}, 2, 8 * time.Second, false},
		{"the last attempt that was sent and refused ends it", &notify.RetryAfterError{After: time.Minute, Err: errors.New("HTTP 429")}, 7, 0, true},
		{"held by the rate limit, nothing was sent: it does not use up the budget", &notify.RetryAfterError{After: 3 * time.Second, Held: true, Err: errors.New("rate limited")}, 7, 3 * time.Second, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, clk := newEngine(t)
			mustEvent(t, e, exceed("ev1", "T2", "nh3n", 3.2, 1.0, t0), OutcomeOpened)
			ds, _ := e.StartDeliveries(1)
			d := ds[0]
			for range tt.attempts {
				e.FinishDelivery(d, errors.New("connection refused"), false)
				clk.Advance(time.Hour)
				again, _ := e.StartDeliveries(100)
				i := slices.IndexFunc(again, func(x Delivery) bool { return x.Key == d.Key })
				if i < 0 {
					t.Fatal("no retry of the delivery")
				}
				d = again[i]
				for _, o := range again {
					if o.Key != d.Key {
						e.FinishDelivery(o, nil, false)
					}
				}
			}
			ch := e.FinishDelivery(d, tt.err, false)
			gone := slices.ContainsFunc(logsOf(ch), func(l message.LogEntry) bool { return l.Action == "notification_failed" })
			if gone != tt.wantGone {
				t.Fatalf("failed for good %v, want %v", gone, tt.wantGone)
			}
			if tt.wantGone {
				return
			}
			due := func() bool {
				ds, _ := e.StartDeliveries(100)
				return slices.ContainsFunc(ds, func(x Delivery) bool { return x.Key == d.Key })
			}
			clk.Advance(tt.wantRetry - 10*time.Millisecond)
			if due() {
				t.Fatalf("retried before %v", tt.wantRetry)
			}
			clk.Advance(20 * time.Millisecond)
			if !due() {
				t.Fatalf("not retried after %v", tt.wantRetry)
			}
		})
	}
}

func TestAnIncidentWhoseSitesLeftTheNetworkIsClosedNotEscalated(t *testing.T) {
	e, clk := newEngine(t)
	mustEvent(t, e, exceed("ev1", "T2", "nh3n", 3.2, 1.0, t0), OutcomeOpened)
	id, _ := e.IncidentOf("ev1")
	ds, _ := e.StartDeliveries(100)
	for _, d := range ds {
		e.FinishDelivery(d, nil, false)
	}
	// sites.yaml lost the site while the incident was open (restored from the state topic).
	st, _ := e.State(id)
	st.Incident.Site, st.Incident.Sites = "T2-removed", []string{"T2-removed"}
	clk.Advance(time.Second)
	ch := e.Tick()
	inc, _ := e.Get(id)
	if inc.Status != message.IncidentClosed || inc.ClosedAt == nil {
		t.Fatalf("status %s, want closed", inc.Status)
	}
	var reasons []string
	for _, l := range logsOf(ch) {
		if l.Action == "closed" || l.Action == "resolved" {
			reasons = append(reasons, l.Detail)
		}
	}
	if len(reasons) != 2 || !strings.Contains(reasons[0], "T2-removed") || !strings.Contains(reasons[0], "sites.yaml") {
		t.Errorf("resolved and closed with %q, want the missing site named", reasons)
	}
	eoa, _ := e.StartDeliveries(100)
	// End of Alert to those told, and the report of the result to the eeb role.
	if len(byKind(eoa, KindEndOfAlert)) == 0 || len(byKind(eoa, KindFinalReport)) == 0 ||
		slices.ContainsFunc(eoa, func(d Delivery) bool { return d.Kind != KindEndOfAlert && d.Kind != KindFinalReport }) {
		t.Errorf("after closing, %d deliveries, want only End of Alert to those told and the final report", len(eoa))
	}
	// Nothing escalates later.
	clk.Advance(48 * time.Hour)
	if ch := e.Tick(); slices.ContainsFunc(logsOf(ch), func(l message.LogEntry) bool { return l.Action == "escalated" }) {
		t.Error("a closed incident escalated")
	}
}

func TestTheSiteWherePollutionWasSeenBecomesThePrimaryOne(t *testing.T) {
	e, clk := newEngine(t)
	// The prediction at the intake arrives before the exceedance it derives from.
	mustEvent(t, e, prediction("pred1", clk.t), OutcomeOpened)
	id, _ := e.IncidentOf("pred1")
	if inc, _ := e.Get(id); inc.Site != "MD" {
		t.Fatalf("opened at %s, want MD", inc.Site)
	}
	clk.Advance(time.Minute)
	ch := mustEvent(t, e, exceed("ev1", "T2", "nh3n", 3.2, 1.0, t0), OutcomeGrouped)
	inc, _ := e.Get(id)
	if inc.Site != "T2" || !strings.Contains(inc.Title, "支流甲市断面") || !slices.Contains(inc.Sites, "MD") {
		t.Errorf("site %s title %q sites %v: want T2 primary and MD still among the sites", inc.Site, inc.Title, inc.Sites)
	}
	if !slices.ContainsFunc(logsOf(ch), func(l message.LogEntry) bool { return l.Action == "primary_site" }) {
		t.Error("the change of primary site is not in the audit trail")
	}
	// A later exceedance elsewhere does not move it again: pollution was seen at T2.
	clk.Advance(time.Minute)
	mustEvent(t, e, message.Event{ID: "ev2", Type: message.EventExceedanceOpened, Site: "M2", Parameter: "nh3n", Value: 1.6, Limit: 1.0,
		Multiple: 0.6, Severity: "warning", ObservedAt: clk.t, EmittedAt: clk.t}, OutcomeGrouped)
	if inc, _ := e.Get(id); inc.Site != "T2" {
		t.Errorf("primary site moved to %s", inc.Site)
	}
}
