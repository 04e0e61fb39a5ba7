package playbook

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/network"
	"github.com/riverwatch/riverwatch/pkg/notify"
)

func testNet(t *testing.T) *network.Network {
	t.Helper()
	n, err := network.Load("testdata/network.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func testContacts(t *testing.T, n *network.Network) *notify.Contacts {
	t.Helper()
	c, err := notify.LoadContacts("testdata/contacts.yaml", n, "http://127.0.0.1:8085/hook")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestDefaultConfigsLoadWithoutGaps(t *testing.T) {
	root := filepath.Join("..", "..", "..", "..", "configs")
	n, err := network.Load(filepath.Join(root, "sites.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := notify.LoadContacts(filepath.Join(root, "contacts.yaml"), n, "http://127.0.0.1:8085/hook")
	if err != nil {
		t.Fatal(err)
	}
	s, err := Load(filepath.Join(root, "playbooks.yaml"), n, c)
	if err != nil {
		t.Fatal(err)
	}
	if gaps := s.Gaps(n, c); len(gaps) > 0 {
		t.Errorf("default contacts miss roles the playbooks reach: %v", gaps)
	}
	for _, id := range []string{"section_exceedance", "drinking_source_threat", "outfall_permit", "station_maintenance"} {
		if _, ok := s.Book(id); !ok {
			t.Errorf("default playbook %s missing", id)
		}
	}
	// The default playbooks raise the frequency on both sides of the boundary and retain a
	// sample at an outfall.
	sections, _ := s.Book("section_exceedance")
	for _, id := range []string{"verify", "search_upstream", "warn_downstream"} {
		if d, ok := sections.Step(id); !ok || d.StationCommand == nil || d.StationCommand.Command != message.StationRaiseFrequency {
			t.Errorf("section_exceedance.%s raises no frequency", id)
		}
	}
	outfall, _ := s.Book("outfall_permit")
	if d, ok := outfall.Step("inspect_discharger"); !ok || d.StationCommand == nil || d.StationCommand.Command != message.StationRetainSample {
		t.Error("outfall_permit.inspect_discharger retains no sample")
	}
	// Every empty target went to the default webhook.
	if got := c.For("xpcc12", "eeb"); len(got) != 1 || got[0].Target != "http://127.0.0.1:8085/hook" {
		t.Errorf("xpcc12/eeb contacts = %+v, want one at the default webhook", got)
	}
}

// base is a valid playbook document that the error cases below break one line at a time.
const base = `parameter_groups:
  nutrients: [nh3n, tp]
messages:
  receipt_request: "请确认"
  level_changed: "{title} {level}"
  reopened: "{title}"
  escalation: "{step_action}"
  end_of_alert: "{title} 解除"
playbooks:
  - id: p1
    trigger:
      events: [exceedance.opened]
      site_kinds: [section]
    level: IV
    steps:
      - id: s1
        actor: {relation: self, role: eeb}
        action: "{site_name} {parameter_name}"
        deadline: 1h
        escalation:
          - {if: not_done, to: {role: emergency}}
`

func TestParseReportsTheLineOfEachProblem(t *testing.T) {
	n := testNet(t)
	c := testContacts(t, n)
	if _, err := Parse([]byte(base), n, c); err != nil {
		t.Fatalf("base document: %v", err)
	}
	cases := []struct {
		name, from, to, want string
	}{
		{"unknown relation", "relation: self", "relation: upstrem", "line 16: playbook \"p1\" step \"s1\": actor relation \"upstrem\""},
		{"undeclared role", "role: eeb}", "role: mayor}", "line 16: playbook \"p1\" step \"s1\": role \"mayor\" is not declared"},
		{"unknown placeholder", "{parameter_name}\"", "{paramter}\"", "line 16: playbook \"p1\" step \"s1\": unknown placeholders [paramter]"},
		{"bad duration", "deadline: 1h", "deadline: soon", "line 19: \"soon\" is not a duration"},
		{"unknown escalation condition", "if: not_done", "if: not_closed", "line 21: playbook \"p1\" step \"s1\": escalation if \"not_closed\""},
		{"closing event as trigger", "events: [exceedance.opened]", "events: [exceedance.cleared]", "line 10: playbook \"p1\": trigger event \"exceedance.cleared\" cannot open"},
		{"bad level", "level: IV", "level: V", "line 10: playbook \"p1\": level \"V\""},
		{"misspelt field", "deadline: 1h", "deadline: 1h\n        confirm_reciept: true", "line 20: field confirm_reciept not found"},
		{"unknown station command", "deadline: 1h", "deadline: 1h\n        station_command: {command: reboot}", "line 16: playbook \"p1\" step \"s1\": station_command command \"reboot\""},
		{"a raise without its restore", "deadline: 1h", "deadline: 1h\n        station_command: {command: raise_frequency, interval: 60s}", "station_command restore must be whole seconds"},
		{"a raise in fractions of a second", "deadline: 1h", "deadline: 1h\n        station_command: {command: raise_frequency, interval: 1500ms, restore: 300s}", "station_command interval must be whole seconds"},
		{"a retained sample with an interval", "deadline: 1h", "deadline: 1h\n        station_command: {command: retain_sample, interval: 60s}", "takes no interval"},
		{"restore_frequency as a step", "deadline: 1h", "deadline: 1h\n        station_command: {command: restore_frequency, interval: 60s}", "is not raise_frequency"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc := strings.Replace(base, tc.from, tc.to, 1)
			_, err := Parse([]byte(doc), n, c)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v\nwant it to contain %q", err, tc.want)
			}
		})
	}
}

func TestParseContactsRefusesBadEntries(t *testing.T) {
	n := testNet(t)
	cases := []struct{ name, doc, want string }{
		{"unknown jurisdiction", "roles: {eeb: 局}\ncontacts:\n  - {jurisdiction: mars, role: eeb, people: [{name: a, channel: webhook}]}\n", "line 3: contacts of mars/eeb: unknown jurisdiction"},
		{"undeclared role", "roles: {eeb: 局}\ncontacts:\n  - {jurisdiction: ja, role: mayor, people: [{name: a, channel: webhook}]}\n", "role \"mayor\" is not declared"},
		{"smtp without address", "roles: {eeb: 局}\ncontacts:\n  - {jurisdiction: ja, role: eeb, people: [{name: a, channel: smtp}]}\n", "smtp needs an e-mail address"},
		{"unknown channel", "roles: {eeb: 局}\ncontacts:\n  - {jurisdiction: ja, role: eeb, people: [{name: a, channel: fax}]}\n", "channel \"fax\""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := notify.ParseContacts([]byte(tc.doc), n, "http://127.0.0.1:8085/hook")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want %q", err, tc.want)
			}
		})
	}
	t.Run("no default webhook for an empty target", func(t *testing.T) {
		doc := "roles: {eeb: 局}\ncontacts:\n  - {jurisdiction: ja, role: eeb, people: [{name: a, channel: wecom}]}\n"
		if _, err := notify.ParseContacts([]byte(doc), n, ""); err == nil || !strings.Contains(err.Error(), "no default webhook") {
			t.Fatalf("error = %v", err)
		}
	})
}

func TestResolveFollowsTheTributaryIntoTheMainRiver(t *testing.T) {
	n := testNet(t)
	cases := []struct {
		site, rel string
		want      []string // jurisdiction@site
	}{
		{"T2", RelSelf, []string{"ja@T2"}},
		{"T2", RelUpstream, []string{"jc@T1"}}, // TO is ja's own
		{"T2", RelDownstream, []string{"jb@M2", "jc@M3"}},
		{"T2", RelDownstreamNext, []string{"jb@M2"}},
		{"T2", RelDownstreamToIntake, []string{"jb@M2"}}, // stops at MD
		{"T2", RelIntake, []string{"jb@MD"}},
		{"M2", RelUpstream, []string{"ja@T2", "jc@T1"}}, // nearest first: T2 is 20 km up, T1 35 km
		{"M2", RelUpstreamNext, []string{"ja@T2"}},
		{"M2", RelDownstream, []string{"jc@M3"}},
		{"M2", RelDownstreamToIntake, nil}, // the intake is M2's own jurisdiction
		{"M1", RelUpstream, nil},
		{"M1", RelDownstream, []string{"jb@M2", "jc@M3"}}, // the tributary is not downstream of M1
		{"M3", RelIntake, nil},
	}
	for _, tc := range cases {
		t.Run(tc.site+"/"+tc.rel, func(t *testing.T) {
			var got []string
			for _, tg := range Resolve(n, tc.site, tc.rel) {
				got = append(got, tg.Jurisdiction+"@"+tg.Site.ID)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("Resolve(%s, %s) = %v, want %v", tc.site, tc.rel, got, tc.want)
			}
		})
	}
	// The jurisdictions agree with the network's own answers.
	for _, site := range []string{"T2", "M2", "M1", "T1"} {
		if got, want := jurs(Resolve(n, site, RelUpstream)), n.UpstreamJurisdictions(site); !slices.Equal(got, want) {
			t.Errorf("%s upstream %v, network says %v", site, got, want)
		}
		if got, want := jurs(Resolve(n, site, RelDownstream)), n.DownstreamJurisdictions(site, false); !slices.Equal(got, want) {
			t.Errorf("%s downstream %v, network says %v", site, got, want)
		}
		if got, want := jurs(Resolve(n, site, RelDownstreamToIntake)), n.DownstreamJurisdictions(site, true); !slices.Equal(got, want) {
			t.Errorf("%s downstream to intake %v, network says %v", site, got, want)
		}
	}
	// Travel time to M2 from T2: 10 km of tributary at 0.5 m/s plus 10 km of main at 1 m/s.
	d := Resolve(n, "T2", RelDownstreamNext)[0]
	if d.DistanceKm != 20 || d.Travel.Seconds() != 20000+10000 {
		t.Errorf("T2→M2 = %v km, %v; want 20 km, 8h20m", d.DistanceKm, d.Travel)
	}
}

func jurs(ts []Target) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Jurisdiction)
	}
	return out
}

func TestMatchPicksTheHighestPriorityPlaybook(t *testing.T) {
	n, err := network.Load(filepath.Join("..", "..", "..", "..", "configs", "sites.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join("..", "..", "..", "..", "configs", "contacts.yaml"))
	c, err := notify.ParseContacts(data, n, "http://127.0.0.1:8085/hook")
	if err != nil {
		t.Fatal(err)
	}
	s, err := Load(filepath.Join("..", "..", "..", "..", "configs", "playbooks.yaml"), n, c)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ typ, site, want string }{
		{message.EventExceedanceOpened, "TTH-S2", "section_exceedance"},
		{message.EventExceedanceOpened, "STH-D2", "drinking_source_threat"},
		{message.EventPredictionIssued, "STH-D2", "drinking_source_threat"},
		{message.EventPredictionIssued, "STH-S3", ""}, // a prediction at a section only grows an incident
		{message.EventExceedanceOpened, "STH-O1", "outfall_permit"},
		{message.EventStationOffline, "TTH-S2", "station_maintenance"},
		{message.EventQualitySuspect, "STH-D1", "station_maintenance"},
		{message.EventExceedanceCleared, "TTH-S2", ""},
	}
	for _, tc := range cases {
		site, _ := n.Site(tc.site)
		got := ""
		if b := s.Match(&message.Event{Type: tc.typ, Site: tc.site, Parameter: "nh3n"}, site); b != nil {
			got = b.ID
		}
		if got != tc.want {
			t.Errorf("%s at %s → %q, want %q", tc.typ, tc.site, got, tc.want)
		}
	}
}

func TestRenderFillsPlaceholdersAndDashesMissingOnes(t *testing.T) {
	got := Render("{site_name}{parameter_name}超标{multiple}倍，预计{arrival}到达", map[string]string{
		"site_name": "八钢断面", "parameter_name": "氨氮", "multiple": "2.20",
	})
	if want := "八钢断面氨氮超标2.20倍，预计—到达"; got != want {
		t.Fatalf("Render = %q, want %q", got, want)
	}
}

func TestEscalationPolicyCompilesIntoALadderOfRules(t *testing.T) {
	n := testNet(t)
	c := testContacts(t, n)
	doc := strings.Replace(base, "        escalation:\n          - {if: not_done, to: {role: emergency}}\n",
		"        escalation:\n          - {if: not_done, to: {role: emergency}}\n"+
			"        escalation_policy:\n          repeat: 2\n          every: 10m\n"+
			"          levels:\n            - {role: eeb, level: parent}\n            - {role: river_chief_office, level: top}\n", 1)
	s, err := Parse([]byte(doc), n, c)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := s.Book("p1")
	def, _ := b.Step("s1")
	type rung struct {
		after    time.Duration
		reminder bool
		role     string
		up       int
	}
	want := []rung{
		{time.Duration(0), false, "emergency", 0}, // the step's own rule comes first, unchanged
		{10 * time.Minute, true, "eeb", 0},
		{20 * time.Minute, true, "eeb", 0},
		{30 * time.Minute, false, "eeb", 1},
		{40 * time.Minute, false, "river_chief_office", -1},
	}
	if len(def.Escalation) != len(want) {
		t.Fatalf("%d rules, want %d: %+v", len(def.Escalation), len(want), def.Escalation)
	}
	for i, w := range want {
		r := def.Escalation[i]
		got := rung{r.After.D(), r.Reminder, r.To.Role, r.To.Up}
		if got != w {
			t.Errorf("rule %d = %+v, want %+v", i, got, w)
		}
		if i > 0 && (r.If != IfNotAcknowledged || r.To.Relation != RelStep) {
			t.Errorf("rule %d: if %q relation %q, want the policy's default not_acknowledged on the step's jurisdiction", i, r.If, r.To.Relation)
		}
	}
	if s.Messages.Reminder != DefaultReminder || s.Messages.Reacknowledge != DefaultReacknowledge {
		t.Error("optional messages are not defaulted")
	}
}

func TestParseRefusesBadEscalationLevelsAndPolicies(t *testing.T) {
	n := testNet(t)
	c := testContacts(t, n)
	cases := []struct{ name, from, to, want string }{
		{"unknown level", "to: {role: emergency}}", "to: {role: emergency, level: heaven}}", `escalation to level "heaven" is not self, parent, grandparent or top`},
		{"level on a step's actor", "actor: {relation: self, role: eeb}", "actor: {relation: self, role: eeb, level: parent}", "actor level is for escalation targets only"},
		{"empty policy", "deadline: 1h", "deadline: 1h\n        escalation_policy: {every: 5m}", "escalation_policy needs repeat or levels"},
		{"too many reminders", "deadline: 1h", "deadline: 1h\n        escalation_policy: {repeat: 11}", "escalation_policy repeat must be within 0–10"},
		{"undeclared role in a level", "deadline: 1h", "deadline: 1h\n        escalation_policy: {levels: [{role: mayor}]}", `role "mayor" is not declared`},
		{"bad policy condition", "deadline: 1h", "deadline: 1h\n        escalation_policy: {if: not_closed, repeat: 1}", `escalation if "not_closed"`},
		{"unknown placeholder in the reminder", "receipt_request: \"请确认\"", "receipt_request: \"请确认\"\n  reminder: \"{when}\"", "messages.reminder: unknown placeholders [when]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc := strings.Replace(base, tc.from, tc.to, 1)
			if doc == base {
				t.Fatalf("case does not apply: %q not in the base document", tc.from)
			}
			_, err := Parse([]byte(doc), n, c)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v\nwant it to contain %q", err, tc.want)
			}
		})
	}
}

func TestRenderLeavesTheUnitOfADimensionlessParameterEmpty(t *testing.T) {
	for _, tc := range []struct {
		name string
		vars map[string]string
		want string
	}{
		{"pH has no unit", map[string]string{"value": "5.6", "unit": ""}, "实测5.6，"},
		{"a unit is written", map[string]string{"value": "3.2", "unit": "mg/L"}, "实测3.2mg/L，"},
		{"no value at all is dashed", map[string]string{"unit": ""}, "实测—，"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Render("实测{value}{unit}，", tc.vars); got != tc.want {
				t.Errorf("Render = %q, want %q", got, tc.want)
			}
		})
	}
}
