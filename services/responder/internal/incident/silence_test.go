package incident

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/auth"
	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/silence"
	"github.com/riverwatch/riverwatch/services/responder/internal/playbook"
)

// silenceAt is a silence of site (one matcher) from t0 for d.
func silenceAt(id, site string, d time.Duration) silence.Silence {
	return silence.Silence{
		ID: id, Matchers: []silence.Matcher{{Name: silence.LabelSite, Value: site}},
		StartsAt: t0, EndsAt: t0.Add(d), Comment: "analyser calibration",
	}
}

var seq int

// createSilence applies a silence_create command from an admin of every jurisdiction.
func createSilence(t *testing.T, e *Engine, s silence.Silence) Changes {
	t.Helper()
	seq++
	out, ch := e.HandleCommand(message.Command{
		ID: fmt.Sprintf("cmd-sil-%d", seq), Type: message.CommandSilenceCreate, Actor: "changji-admin",
		ActorRole: auth.RoleAdmin, ActorJurisdictions: everywhere, Silence: &s, At: e.clock.Now(),
	})
	if out != CommandApplied {
		t.Fatalf("silence_create %s: %s %+v", s.ID, out, logsOf(ch))
	}
	return ch
}

func notificationsOf(ch Changes, status string) []message.Notification {
	var out []message.Notification
	for _, u := range ch.Updates {
		if u.Notification != nil && u.Notification.Status == status {
			out = append(out, *u.Notification)
		}
	}
	return out
}

func hasLog(ch Changes, action string) bool {
	return slices.ContainsFunc(logsOf(ch), func(l message.LogEntry) bool { return l.Action == action })
}

func TestSilencedIncidentOpensAndRecordsWhoWouldHaveBeenTold(t *testing.T) {
	e, _ := newEngine(t)
	createSilence(t, e, silenceAt("sil-1", "T2", 2*time.Hour))
	ch := mustEvent(t, e, exceed("ev1", "T2", "nh3n", 3.2, 1.0, t0), OutcomeOpened)
	id, _ := e.IncidentOf("ev1")
	inc, _ := e.Get(id)
	if inc.Status != message.IncidentOpen || !slices.Equal(inc.SilencedBy, []string{"sil-1"}) {
		t.Fatalf("incident %s silenced_by %v", inc.Status, inc.SilencedBy)
	}
	if len(inc.Steps) != 5 {
		t.Errorf("a silenced incident has %d steps, want the playbook's 5", len(inc.Steps))
	}
	inhibited := notificationsOf(ch, statusInhibited)
	if len(inhibited) != 5 {
		t.Fatalf("%d inhibited records, want one per step", len(inhibited))
	}
	for _, n := range inhibited {
		if n.Recipient == "" || n.Body == "" || !strings.Contains(n.Error, "sil-1") || !strings.Contains(n.Error, "analyser calibration") {
			t.Errorf("inhibited record lacks who or why: %+v", n)
		}
	}
	if !hasLog(ch, "silenced") {
		t.Error("no silenced entry in the audit trail")
	}
	if ds, _ := e.StartDeliveries(100); len(ds) != 0 {
		t.Fatalf("a silenced incident delivered %v", recipientsOf(ds))
	}
}

func TestSilenceEndingReleasesHeldNotifications(t *testing.T) {
	cases := []struct {
		name string
		end  func(t *testing.T, e *Engine, clk *fakeClock) Changes
	}{
		{"its ends_at passes", func(t *testing.T, e *Engine, clk *fakeClock) Changes {
			clk.Advance(2 * time.Hour)
			return e.Tick()
		}},
		{"an operator expires it", func(t *testing.T, e *Engine, clk *fakeClock) Changes {
			clk.Advance(10 * time.Minute)
			out, ch := e.HandleCommand(message.Command{ID: "cmd-expire", Type: message.CommandSilenceExpire, SilenceID: "sil-1",
				Actor: "changji-admin", ActorRole: auth.RoleAdmin, ActorJurisdictions: []string{"ja"}, At: clk.t})
			if out != CommandApplied {
				t.Fatalf("expire: %s %+v", out, logsOf(ch))
			}
			if s, _ := e.Silence("sil-1"); s.ExpiredBy != "changji-admin" || s.State(clk.t) != silence.StateExpired {
				t.Errorf("expired silence %+v", s)
			}
			return ch
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, clk := newEngine(t)
			createSilence(t, e, silenceAt("sil-1", "T2", 2*time.Hour))
			mustEvent(t, e, exceed("ev1", "T2", "nh3n", 3.2, 1.0, t0), OutcomeOpened)
			id, _ := e.IncidentOf("ev1")
			ch := c.end(t, e, clk)
			if got := len(notificationsOf(ch, statusReleased)); got != 5 {
				t.Errorf("%d released records, want 5", got)
			}
			if !hasLog(ch, "silence_lifted") {
				t.Error("no silence_lifted entry")
			}
			if inc, _ := e.Get(id); len(inc.SilencedBy) != 0 {
				t.Errorf("still silenced by %v", inc.SilencedBy)
			}
			if ds := deliverAll(e); len(ds) != 5 {
				t.Fatalf("released %d deliveries, want 5", len(ds))
			}
		})
	}
}

func TestEndOfAlertReachesWhoeverWasToldAndOnlyThem(t *testing.T) {
	t.Run("told before the silence: End of Alert goes out during it", func(t *testing.T) {
		e, clk := newEngine(t)
		mustEvent(t, e, exceed("ev1", "T2", "nh3n", 3.2, 1.0, t0), OutcomeOpened)
		id, _ := e.IncidentOf("ev1")
		told := deliverAll(e)
		clk.Advance(time.Minute)
		s := silenceAt("sil-1", "T2", 2*time.Hour)
		s.StartsAt = clk.t
		createSilence(t, e, s)
		if inc, _ := e.Get(id); !slices.Equal(inc.SilencedBy, []string{"sil-1"}) {
			t.Fatalf("silenced_by %v", inc.SilencedBy)
		}
		out, _ := e.HandleCommand(message.Command{ID: "cmd-res", Type: message.CommandResolve, IncidentID: id,
			Actor: "admin", ActorRole: auth.RoleAdmin, ActorJurisdictions: everywhere, At: clk.t})
		if out != CommandApplied {
			t.Fatalf("resolve %s", out)
		}
		eoa := byKind(deliverAll(e), KindEndOfAlert)
		if len(eoa) != len(told) {
			t.Fatalf("End of Alert to %d, told %d", len(eoa), len(told))
		}
	})
	t.Run("silenced from the start: nobody was told, nobody gets End of Alert", func(t *testing.T) {
		e, clk := newEngine(t)
		createSilence(t, e, silenceAt("sil-1", "T2", 2*time.Hour))
		mustEvent(t, e, exceed("ev1", "T2", "nh3n", 3.2, 1.0, t0), OutcomeOpened)
		id, _ := e.IncidentOf("ev1")
		out, ch := e.HandleCommand(message.Command{ID: "cmd-res", Type: message.CommandResolve, IncidentID: id,
			Actor: "admin", ActorRole: auth.RoleAdmin, ActorJurisdictions: everywhere, At: clk.t})
		if out != CommandApplied || !hasLog(ch, "held_dropped") {
			t.Fatalf("resolve %s, logs %+v", out, logsOf(ch))
		}
		clk.Advance(3 * time.Hour) // the silence ends: the dropped messages stay dropped
		e.Tick()
		if ds := deliverAll(e); len(ds) != 0 {
			t.Fatalf("after resolution while silenced, delivered %v", recipientsOf(ds))
		}
	})
}

func TestEndOnResolveExpiresTheSilence(t *testing.T) {
	for _, endOnResolve := range []bool{true, false} {
		t.Run(fmt.Sprintf("end_on_resolve=%v", endOnResolve), func(t *testing.T) {
			e, clk := newEngine(t)
			s := silenceAt("sil-1", "T2", 24*time.Hour)
			s.EndOnResolve = endOnResolve
			createSilence(t, e, s)
			mustEvent(t, e, exceed("ev1", "T2", "nh3n", 3.2, 1.0, t0), OutcomeOpened)
			id, _ := e.IncidentOf("ev1")
			clk.Advance(time.Hour)
			e.HandleCommand(message.Command{ID: "cmd-res", Type: message.CommandResolve, IncidentID: id,
				Actor: "admin", ActorRole: auth.RoleAdmin, ActorJurisdictions: everywhere, At: clk.t})
			got, _ := e.Silence("sil-1")
			if ended := got.State(clk.t) == silence.StateExpired; ended != endOnResolve {
				t.Fatalf("silence state %s after its incident resolved", got.State(clk.t))
			}
			if endOnResolve && (got.ExpiredBy != actorResponder || !strings.Contains(got.Reason, id)) {
				t.Errorf("expiry not explained: %+v", got)
			}
		})
	}
}

func TestIncidentGrowingBeyondTheSilenceIsNoLongerSilenced(t *testing.T) {
	e, clk := newEngine(t)
	createSilence(t, e, silenceAt("sil-1", "T2", 2*time.Hour))
	mustEvent(t, e, exceed("ev1", "T2", "nh3n", 3.2, 1.0, t0), OutcomeOpened)
	id, _ := e.IncidentOf("ev1")
	clk.Advance(10 * time.Minute)
	// The exceedance now threatens the intake MD, which no silence covers.
	mustEvent(t, e, message.Event{
		ID: "pred1", Type: message.EventPredictionIssued, Site: "MD", Parameter: "nh3n", Value: 0.9, Limit: 0.5,
		Multiple: 0.8, OriginSite: "T2", OriginEventID: "ev1", ArrivalAt: t0.Add(9 * time.Hour), ObservedAt: t0, EmittedAt: clk.t,
	}, OutcomeGrouped)
	if inc, _ := e.Get(id); len(inc.SilencedBy) != 0 {
		t.Fatalf("an incident threatening an unsilenced intake is silenced by %v", inc.SilencedBy)
	}
	ds := deliverAll(e)
	if got := byKind(ds, playbook.KindWarning); len(ds) < 6 || len(got) == 0 {
		t.Fatalf("delivered %v, want the 5 held messages and the intake's warning", recipientsOf(ds))
	}
}

func TestRecurringSilenceHoldsOnlyInsideItsWindow(t *testing.T) {
	e, clk := newEngine(t) // t0 is Friday 2026-05-01 10:00 in Changji
	s := silenceAt("sil-weekly", "T2", 30*24*time.Hour)
	s.Recurrence = &silence.Recurrence{Weekdays: []string{"fri"}, Start: "09:00", Duration: "90m"}
	createSilence(t, e, s)
	mustEvent(t, e, exceed("ev1", "T2", "nh3n", 3.2, 1.0, t0), OutcomeOpened)
	if ds, _ := e.StartDeliveries(100); len(ds) != 0 {
		t.Fatalf("inside the Friday window delivered %d", len(ds))
	}
	clk.Advance(30 * time.Minute) // 10:30: the window has closed
	e.Tick()
	if ds := deliverAll(e); len(ds) != 5 {
		t.Fatalf("after the window delivered %d, want 5", len(ds))
	}
}

func TestDrillsAreNeverSilenced(t *testing.T) {
	e, clk := newEngine(t)
	createSilence(t, e, silenceAt("sil-1", "T2", 2*time.Hour))
	out, _ := e.HandleCommand(message.Command{ID: "cmd-drill", Type: message.CommandDrill, Site: "T2", Parameter: "nh3n",
		Actor: "admin", ActorRole: auth.RoleAdmin, ActorJurisdictions: everywhere, At: clk.t})
	if out != CommandApplied {
		t.Fatalf("drill %s", out)
	}
	if ds := deliverAll(e); len(ds) == 0 {
		t.Fatal("a drill at a silenced site notified nobody")
	}
}

func TestSilenceCommandsAreAuthorisedValidatedAndAppliedOnce(t *testing.T) {
	admin := func(j ...string) message.Command {
		return message.Command{Actor: "admin-" + j[0], ActorRole: auth.RoleAdmin, ActorJurisdictions: j}
	}
	responderJA := message.Command{Actor: "desk-ja", ActorRole: auth.RoleResponder, ActorJurisdictions: []string{"ja"}}
	main := silence.Silence{ID: "sil-main", Matchers: []silence.Matcher{{Name: silence.LabelRiver, Value: "main"}}, StartsAt: t0, EndsAt: t0.Add(time.Hour), Comment: "c"}
	bad := silence.Silence{ID: "sil-bad", Matchers: []silence.Matcher{{Name: silence.LabelSite, Value: "T(", IsRegex: true}}, StartsAt: t0, EndsAt: t0.Add(time.Hour), Comment: "c"}
	past := silenceAt("sil-past", "T2", time.Hour)
	past.StartsAt, past.EndsAt = t0.Add(-2*time.Hour), t0.Add(-time.Hour)
	nowhere := silenceAt("sil-nowhere", "NOPE", time.Hour)
	t2 := silenceAt("sil-t2", "T2", time.Hour)
	cases := []struct {
		name    string
		by      message.Command
		typ     string
		s       *silence.Silence
		id      string
		outcome string
		why     string
	}{
		{"a responder may not create one", responderJA, message.CommandSilenceCreate, &t2, "", CommandUnauthorised, "needs admin"},
		{"an admin of ja may not silence the main river (ja, jb, jc)", admin("ja"), message.CommandSilenceCreate, &main, "", CommandUnauthorised, "jurisdiction jb"},
		{"a regex that does not compile", admin("ja"), message.CommandSilenceCreate, &bad, "", CommandRejected, "regex"},
		{"a silence already over", admin("ja"), message.CommandSilenceCreate, &past, "", CommandRejected, "in the past"},
		{"a silence of no site", admin(auth.AllJurisdictions), message.CommandSilenceCreate, &nowhere, "", CommandUnauthorised, "none of which"},
		{"an admin of ja silences T2", admin("ja"), message.CommandSilenceCreate, &t2, "", CommandApplied, ""},
		{"the same silence again is a replay", admin("ja"), message.CommandSilenceCreate, &t2, "", OutcomeDuplicate, ""},
		{"an admin of jb may not expire it", admin("jb"), message.CommandSilenceExpire, nil, "sil-t2", CommandUnauthorised, "none of which"},
		{"an unknown silence cannot be expired", admin("ja"), message.CommandSilenceExpire, nil, "sil-nope", CommandRejected, "no silence"},
		{"an admin of ja expires it", admin("ja"), message.CommandSilenceExpire, nil, "sil-t2", CommandApplied, ""},
		{"expiring it again is refused", admin("ja"), message.CommandSilenceExpire, nil, "sil-t2", CommandRejected, "already ended"},
	}
	e, clk := newEngine(t)
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cmd := tc.by
			cmd.ID, cmd.Type, cmd.Silence, cmd.SilenceID, cmd.At = fmt.Sprintf("cmd-%d", i), tc.typ, tc.s, tc.id, clk.t
			if tc.outcome == OutcomeDuplicate {
				cmd.ID = fmt.Sprintf("cmd-%d", i-1)
			}
			got, ch := e.HandleCommand(cmd)
			if got != tc.outcome {
				t.Fatalf("outcome %s, want %s: %+v", got, tc.outcome, logsOf(ch))
			}
			if tc.outcome == OutcomeDuplicate {
				if !ch.Empty() {
					t.Errorf("a replay changed something: %+v", ch)
				}
				return
			}
			logs := logsOf(ch)
			j := slices.IndexFunc(logs, func(l message.LogEntry) bool { return l.CommandID == cmd.ID })
			if j < 0 || logs[j].IncidentID == "" || !strings.Contains(logs[j].Detail, tc.why) {
				t.Fatalf("log entry of the command: %+v (want %q)", logs, tc.why)
			}
			if tc.outcome != CommandApplied {
				if tc.s != nil {
					if _, ok := e.Silence(tc.s.ID); ok {
						t.Error("a refused silence was stored")
					}
				}
				return
			}
			if !slices.ContainsFunc(ch.Updates, func(u message.IncidentUpdate) bool { return u.Kind == message.UpdateSilence }) {
				t.Error("no silence snapshot published")
			}
		})
	}
	if s, _ := e.Silence("sil-t2"); s.CreatedBy != "admin-ja" || s.Version != 2 {
		t.Errorf("created_by %q version %d, want the command's actor and two versions", s.CreatedBy, s.Version)
	}
}

func TestSilencesAndHeldNotificationsSurviveARestart(t *testing.T) {
	e, clk := newEngine(t)
	ch := createSilence(t, e, silenceAt("sil-1", "T2", 2*time.Hour))
	if !slices.Contains(ch.Dirty, SilenceKey("sil-1")) {
		t.Fatalf("the silence is not written to the state topic: dirty %v", ch.Dirty)
	}
	mustEvent(t, e, exceed("ev1", "T2", "nh3n", 3.2, 1.0, t0), OutcomeOpened)
	id, _ := e.IncidentOf("ev1")
	sb, ok, err := e.Marshal(SilenceKey("sil-1"))
	if err != nil || !ok {
		t.Fatalf("marshal silence: %v %v", ok, err)
	}
	ib, _, _ := e.Marshal(id)
	ss, err := UnmarshalSilence(sb)
	if err != nil {
		t.Fatal(err)
	}
	st, err := Unmarshal(ib)
	if err != nil {
		t.Fatal(err)
	}
	e2, _ := newEngine(t)
	e2.clock = clk
	e2.RestoreSilences([]*SilenceState{ss})
	e2.Restore([]*State{st})
	if ds, _ := e2.StartDeliveries(100); len(ds) != 0 {
		t.Fatalf("after a restart a silenced incident delivered %v", recipientsOf(ds))
	}
	clk.Advance(2 * time.Hour)
	e2.Tick()
	if ds := deliverAll(e2); len(ds) != 5 {
		t.Fatalf("after the restored silence ended delivered %d, want 5", len(ds))
	}
	clk.Advance(e2.cfg.Retain)
	if rm := e2.Tick(); !slices.Contains(rm.Removed, SilenceKey("sil-1")) {
		t.Errorf("an ended silence is kept past the retention: removed %v", rm.Removed)
	}
}

func TestASilencedIncidentEscalatesOnlyAfterItsRelease(t *testing.T) {
	e, clk := newEngine(t)
	createSilence(t, e, silenceAt("sil-1", "T2", 2*time.Hour))
	mustEvent(t, e, exceed("ev1", "T2", "nh3n", 3.2, 1.0, t0), OutcomeOpened)
	clk.Advance(90 * time.Minute) // past every 30 min escalation delay, still silenced
	if ch := e.Tick(); hasLog(ch, "escalated") {
		t.Fatal("a silenced incident escalated: nobody was told, nobody failed to acknowledge")
	}
	clk.Advance(30 * time.Minute) // the silence ends: the held messages go out
	e.Tick()
	released := deliverAll(e)
	if len(byKind(released, KindEscalation)) != 0 {
		t.Fatalf("escalations sent with the released messages: %v", recipientsOf(released))
	}
	clk.Advance(29 * time.Minute)
	if ch := e.Tick(); hasLog(ch, "escalated") {
		t.Fatal("escalated before the delay, counted from the release, had passed")
	}
	clk.Advance(time.Minute)
	if ch := e.Tick(); !hasLog(ch, "escalated") {
		t.Fatal("no escalation 30 min after the release of unacknowledged steps")
	}
}

func TestSilenceCountsByStateNow(t *testing.T) {
	e, clk := newEngine(t)
	createSilence(t, e, silenceAt("sil-now", "T2", time.Hour))
	later := silenceAt("sil-later", "M2", 3*time.Hour)
	later.StartsAt = t0.Add(2 * time.Hour)
	createSilence(t, e, later)
	if got := e.SilenceCounts(); got[silence.StateActive] != 1 || got[silence.StatePending] != 1 || got[silence.StateExpired] != 0 {
		t.Errorf("at t0: %v", got)
	}
	clk.Advance(90 * time.Minute)
	if got := e.SilenceCounts(); got[silence.StateActive] != 0 || got[silence.StatePending] != 1 || got[silence.StateExpired] != 1 {
		t.Errorf("at t0+90m: %v", got)
	}
}
