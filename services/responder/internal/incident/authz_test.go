package incident

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/riverwatch/riverwatch/pkg/auth"
	"github.com/riverwatch/riverwatch/pkg/message"
)

// The incident of these tests starts at T2 (jurisdiction ja); its steps are for ja (verify,
// initial report), jb and jc (warn downstream, search upstream).
func TestCommandsFollowTheIncidentsJurisdictionsAndRoles(t *testing.T) {
	responder := func(j ...string) message.Command {
		return message.Command{Actor: "desk-" + j[0], ActorRole: auth.RoleResponder, ActorJurisdictions: j}
	}
	viewer := message.Command{Actor: "viewer-ja", ActorRole: auth.RoleViewer, ActorJurisdictions: []string{"ja"}}
	admin := message.Command{Actor: "admin", ActorRole: auth.RoleAdmin, ActorJurisdictions: everywhere}
	noRole := message.Command{Actor: "forged"}
	cases := []struct {
		name    string
		by      message.Command
		typ     string
		step    string
		outcome string
	}{
		{"a downstream responder may not acknowledge", responder("jb"), message.CommandAcknowledge, "", CommandUnauthorised},
		{"a viewer of the origin may not acknowledge", viewer, message.CommandAcknowledge, "", CommandUnauthorised},
		{"a command without an actor role is refused", noRole, message.CommandAcknowledge, "", CommandUnauthorised},
		{"a responder of another jurisdiction's step may not confirm it", responder("jb"), message.CommandConfirmReceipt, "section_exceedance.verify.ja", CommandUnauthorised},
		{"a responder confirms the receipt of its own step", responder("jb"), message.CommandConfirmReceipt, "section_exceedance.warn_downstream.jb", CommandApplied},
		{"a responder marks its own step done", responder("jc"), message.CommandStepDone, "section_exceedance.search_upstream.jc", CommandApplied},
		{"a responder may not mark another jurisdiction's step done", responder("jc"), message.CommandStepDone, "section_exceedance.verify.ja", CommandUnauthorised},
		{"a downstream responder may not resolve", responder("jc"), message.CommandResolve, "", CommandUnauthorised},
		{"the origin's responder acknowledges", responder("ja"), message.CommandAcknowledge, "", CommandApplied},
		{"an admin resolves", admin, message.CommandResolve, "", CommandApplied},
	}
	e, clk := newEngine(t)
	mustEvent(t, e, exceed("ev1", "T2", "nh3n", 3.2, 1.0, t0), OutcomeOpened)
	id, _ := e.IncidentOf("ev1")
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := e.Get(id)
			cmd := tc.by
			cmd.ID, cmd.Type, cmd.IncidentID, cmd.StepID, cmd.At = fmt.Sprintf("cmd-%d", i), tc.typ, id, tc.step, clk.t
			got, ch := e.HandleCommand(cmd)
			if got != tc.outcome {
				t.Fatalf("outcome %s, want %s", got, tc.outcome)
			}
			logs := logsOf(ch)
			j := slices.IndexFunc(logs, func(l message.LogEntry) bool { return l.CommandID == cmd.ID })
			if j < 0 {
				t.Fatalf("no log entry carries the command id: %+v", logs)
			}
			if tc.outcome != CommandUnauthorised {
				return
			}
			after, _ := e.Get(id)
			if logs[j].Action != "command_refused" || logs[j].Detail == "" {
				t.Errorf("log entry %s %q, want command_refused with the reason", logs[j].Action, logs[j].Detail)
			}
			if after.Version != before.Version || len(ch.Dirty) != 0 {
				t.Errorf("a refused command changed the incident: version %d -> %d, dirty %v", before.Version, after.Version, ch.Dirty)
			}
		})
	}
}

func TestDrillsNeedAnAdminOfTheSitesJurisdiction(t *testing.T) {
	cases := []struct {
		name    string
		role    string
		juris   []string
		outcome string
	}{
		{"a responder may not start a drill", auth.RoleResponder, []string{"jb"}, CommandUnauthorised},
		{"an admin of another jurisdiction may not", auth.RoleAdmin, []string{"ja"}, CommandUnauthorised},
		{"an admin of the site's jurisdiction may", auth.RoleAdmin, []string{"jb"}, CommandApplied},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, clk := newEngine(t)
			got, ch := e.HandleCommand(message.Command{
				ID: fmt.Sprintf("drill-%d", i), Type: message.CommandDrill, Site: "M2", Actor: "x",
				ActorRole: tc.role, ActorJurisdictions: tc.juris, At: clk.t,
			})
			if got != tc.outcome {
				t.Fatalf("outcome %s, want %s", got, tc.outcome)
			}
			if tc.outcome == CommandUnauthorised && (len(e.List()) != 0 || len(logsOf(ch)) != 1 || logsOf(ch)[0].Action != "command_refused") {
				t.Errorf("refused drill: %d incidents, logs %+v", len(e.List()), logsOf(ch))
			}
		})
	}
}

// M8: the state record is one Kafka message per incident; it must not grow with commands.
func TestStateStaysBoundedHoweverManyCommandsArrive(t *testing.T) {
	e, clk := newEngine(t)
	mustEvent(t, e, exceed("ev1", "T2", "nh3n", 3.2, 1.0, t0), OutcomeOpened)
	id, _ := e.IncidentOf("ev1")
	admin := func(cid, typ string) message.Command {
		return message.Command{ID: cid, Type: typ, IncidentID: id, Actor: "admin", ActorRole: auth.RoleAdmin, ActorJurisdictions: everywhere, At: clk.t}
	}
	if got, _ := e.HandleCommand(admin("ack", message.CommandAcknowledge)); got != CommandApplied {
		t.Fatalf("acknowledge: %s", got)
	}
	size := func() int {
		st, _ := e.State(id)
		b, err := json.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		return len(b)
	}
	before := size()
	for i := range 30000 {
		cmd := admin(fmt.Sprintf("flood-%d", i), message.CommandAcknowledge) // refused: already acknowledged
		if i%2 == 1 {
			cmd.ActorRole = auth.RoleViewer // refused: not authorised
		}
		if got, _ := e.HandleCommand(cmd); got == CommandApplied {
			t.Fatalf("flood command %d applied", i)
		}
	}
	if after := size(); after != before {
		t.Errorf("state record %d bytes -> %d bytes after 30000 refused commands", before, after)
	}
	// Exactly once: the applied command replayed is a duplicate, without a new log entry.
	if got, ch := e.HandleCommand(admin("ack", message.CommandAcknowledge)); got != OutcomeDuplicate || len(ch.Updates) != 0 {
		t.Errorf("replayed acknowledge: %s, %d updates", got, len(ch.Updates))
	}
	// A refused command replayed writes the same log row (same id) again, nothing more.
	_, first := e.HandleCommand(admin("flood-0", message.CommandAcknowledge))
	_, again := e.HandleCommand(admin("flood-0", message.CommandAcknowledge))
	if a, b := logsOf(first), logsOf(again); len(a) != 1 || len(b) != 1 || a[0].ID != b[0].ID {
		t.Errorf("replayed refusal: %+v then %+v, want one entry with one id", a, b)
	}
}

func TestTheDedupSetKeepsTheNewestIDsUpToItsBound(t *testing.T) {
	st := &State{}
	for i := range MaxCommandIDs + 100 {
		rememberCommand(st, fmt.Sprint(i))
	}
	if len(st.Commands) != MaxCommandIDs || st.Commands[0] != "100" || st.Commands[MaxCommandIDs-1] != fmt.Sprint(MaxCommandIDs+99) {
		t.Errorf("dedup set: %d ids, %s .. %s", len(st.Commands), st.Commands[0], st.Commands[len(st.Commands)-1])
	}
}
