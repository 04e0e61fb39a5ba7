package incident

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/auth"
	"github.com/riverwatch/riverwatch/pkg/message"
)

func commandSites(cs []message.StationCommand, command string) []string {
	var out []string
	for _, c := range cs {
		if c.Command == command {
			out = append(out, c.Site)
		}
	}
	slices.Sort(out)
	return out
}

// A section exceedance raises the reporting frequency at the station itself and at the
// nearest station of each jurisdiction up- and downstream (joint monitoring across the
// boundary); a site without a station is logged as skipped; the resolve restores every
// raised station; each command is on the incident's record.
func TestASectionExceedanceRaisesTheFrequencyOnBothSidesAndTheResolveRestoresIt(t *testing.T) {
	e, clk := newEngine(t)
	ch := mustEvent(t, e, exceed("ev1", "T2", "nh3n", 3.2, 1.0, t0), OutcomeOpened)
	id, _ := e.IncidentOf("ev1")
	// T2 itself (ja), T1 upstream (jc), M2 downstream (jb); M3 (jc downstream) has no station.
	if got := commandSites(ch.StationCommands, message.StationRaiseFrequency); !slices.Equal(got, []string{"M2", "T1", "T2"}) {
		t.Fatalf("raised at %v, want M2, T1, T2", got)
	}
	for _, c := range ch.StationCommands {
		if err := c.Validate(); err != nil || c.RtdInterval != 60 || c.Incident != id || c.RequestedBy != "responder" ||
			c.Status != message.StationRequested || c.TTLSeconds != 3600 {
			t.Errorf("command %+v (%v)", c, err)
		}
	}
	var recorded, skipped int
	for _, l := range logsOf(ch) {
		switch l.Action {
		case "station_command":
			recorded++
		case "station_command_skipped":
			skipped++
			if !strings.Contains(l.Detail, "M3 has no HJ 212 station") {
				t.Errorf("skipped: %s", l.Detail)
			}
		}
	}
	if recorded != 3 || skipped != 1 {
		t.Errorf("log: %d station_command, %d skipped; want 3 and 1", recorded, skipped)
	}
	// A replayed event commands nothing again; a grouped one adds no duplicate either.
	if ch := mustEvent(t, e, exceed("ev1", "T2", "nh3n", 3.2, 1.0, t0), OutcomeDuplicate); len(ch.StationCommands) != 0 {
		t.Errorf("a replay sent %d commands", len(ch.StationCommands))
	}

	clk.Advance(10 * time.Minute)
	mustEvent(t, e, message.Event{ID: "c1", Type: message.EventExceedanceCleared, Site: "T2", Parameter: "nh3n", ObservedAt: clk.t, EmittedAt: clk.t}, OutcomeCleared)
	clk.Advance(61 * time.Minute)
	res := e.Tick()
	if inc, _ := e.Get(id); inc.Status != message.IncidentResolved {
		t.Fatalf("status %s", inc.Status)
	}
	if got := commandSites(res.StationCommands, message.StationRestoreFrequency); !slices.Equal(got, []string{"M2", "T1", "T2"}) {
		t.Fatalf("restored at %v, want M2, T1, T2", got)
	}
	for _, c := range res.StationCommands {
		if c.RtdInterval != 300 || c.Validate() != nil {
			t.Errorf("restore %+v", c)
		}
	}
	if n := len(res.StationCommands); n != 3 {
		t.Errorf("%d commands at the resolve, want 3 restores", n)
	}
}

func TestAnOutfallOverItsPermitRetainsASampleAndADrillCommandsNothing(t *testing.T) {
	e, clk := newEngine(t)
	ch := mustEvent(t, e, exceed("ev1", "TO", "cod", 120, 50, t0), OutcomeOpened)
	if got := commandSites(ch.StationCommands, message.StationRetainSample); !slices.Equal(got, []string{"TO"}) {
		t.Fatalf("retain_sample at %v, want TO; all %+v", got, ch.StationCommands)
	}

	d, clk2 := newEngine(t)
	_ = clk
	_, dch := d.HandleCommand(message.Command{ActorRole: auth.RoleAdmin, ActorJurisdictions: everywhere, ID: "d1", Type: message.CommandDrill,
		Site: "T2", Parameter: "nh3n", Actor: "trainer", At: clk2.t})
	if len(dch.StationCommands) != 0 {
		t.Fatalf("a drill commanded %d stations", len(dch.StationCommands))
	}
	skipped := 0
	for _, l := range logsOf(dch) {
		if l.Action == "station_command_skipped" && strings.Contains(l.Detail, "drill") {
			skipped++
		}
	}
	if skipped == 0 {
		t.Error("the drill did not record the commands it did not send")
	}
}
