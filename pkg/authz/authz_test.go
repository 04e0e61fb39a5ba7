package authz

import (
	"errors"
	"testing"

	"github.com/riverwatch/riverwatch/pkg/auth"
	"github.com/riverwatch/riverwatch/pkg/message"
)

func TestTheRuleBook(t *testing.T) {
	// Starts in ja, concerns jb downstream.
	inc := message.Incident{ID: "inc-1", Jurisdictions: []string{"ja", "jb"}}
	actor := func(role string, j ...string) Actor { return Actor{Name: "desk", Role: role, Jurisdictions: j} }
	cases := []struct {
		name string
		a    Actor
		typ  string
		step string
		want error
	}{
		{"the origin's responder acknowledges", actor(auth.RoleResponder, "ja"), message.CommandAcknowledge, "", nil},
		{"the origin's responder resolves", actor(auth.RoleResponder, "ja"), message.CommandResolve, "", nil},
		{"a downstream responder may not acknowledge", actor(auth.RoleResponder, "jb"), message.CommandAcknowledge, "", ErrForbidden},
		{"a downstream responder may not resolve", actor(auth.RoleResponder, "jb"), message.CommandResolve, "", ErrForbidden},
		{"a downstream responder confirms its step", actor(auth.RoleResponder, "jb"), message.CommandConfirmReceipt, "jb", nil},
		{"a downstream responder marks its step done", actor(auth.RoleResponder, "jb"), message.CommandStepDone, "jb", nil},
		{"nobody marks another jurisdiction's step done", actor(auth.RoleResponder, "jb"), message.CommandStepDone, "ja", ErrForbidden},
		{"a viewer of the origin may not acknowledge", actor(auth.RoleViewer, "ja"), message.CommandAcknowledge, "", ErrForbidden},
		{"an admin of every jurisdiction resolves", actor(auth.RoleAdmin, auth.AllJurisdictions), message.CommandResolve, "", nil},
		{"an admin of a downstream jurisdiction may not resolve", actor(auth.RoleAdmin, "jb"), message.CommandResolve, "", ErrForbidden},
		{"an unconcerned responder does not see the incident", actor(auth.RoleResponder, "jc"), message.CommandAcknowledge, "", ErrNotVisible},
		{"an actor without a role is refused", actor("", "ja"), message.CommandAcknowledge, "", ErrForbidden},
		{"an actor without jurisdictions sees nothing", actor(auth.RoleAdmin), message.CommandResolve, "", ErrNotVisible},
		{"an unknown command type is refused", actor(auth.RoleAdmin, "ja"), "delete", "", ErrForbidden},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := Incident(c.a, c.typ, inc, "ja", c.step)
			if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
				t.Errorf("got %v, want %v", err, c.want)
			}
		})
	}
}

// Drills and corrections of readings follow one rule: an admin holding the site's
// jurisdiction.
func TestDrillsAndCorrectionsAreForAdminsOfTheSite(t *testing.T) {
	cases := []struct {
		name string
		a    Actor
		want error
	}{
		{"an admin of the site's jurisdiction", Actor{Role: auth.RoleAdmin, Jurisdictions: []string{"ja"}}, nil},
		{"an admin of every jurisdiction", Actor{Role: auth.RoleAdmin, Jurisdictions: []string{auth.AllJurisdictions}}, nil},
		{"an admin of another jurisdiction", Actor{Role: auth.RoleAdmin, Jurisdictions: []string{"jb"}}, ErrNotVisible},
		{"a responder", Actor{Role: auth.RoleResponder, Jurisdictions: []string{"ja"}}, ErrForbidden},
		{"a viewer", Actor{Role: auth.RoleViewer, Jurisdictions: []string{"ja"}}, ErrForbidden},
	}
	for name, rule := range map[string]func(Actor, string) error{"drill": Drill, "correct": Correct} {
		for _, c := range cases {
			t.Run(name+": "+c.name, func(t *testing.T) {
				err := rule(c.a, "ja")
				if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
					t.Errorf("got %v, want %v", err, c.want)
				}
			})
		}
	}
}

func TestSilencesAreForAdminsOfEveryJurisdictionTheyReach(t *testing.T) {
	cases := []struct {
		name  string
		a     Actor
		scope []string
		want  error
	}{
		{"an admin of the one jurisdiction", Actor{Role: auth.RoleAdmin, Jurisdictions: []string{"ja"}}, []string{"ja"}, nil},
		{"an admin of every jurisdiction", Actor{Role: auth.RoleAdmin, Jurisdictions: []string{auth.AllJurisdictions}}, []string{"ja", "jb"}, nil},
		{"an admin of only one of two", Actor{Role: auth.RoleAdmin, Jurisdictions: []string{"ja"}}, []string{"ja", "jb"}, ErrForbidden},
		{"an admin of neither", Actor{Role: auth.RoleAdmin, Jurisdictions: []string{"jc"}}, []string{"ja", "jb"}, ErrNotVisible},
		{"a responder of the jurisdiction", Actor{Role: auth.RoleResponder, Jurisdictions: []string{"ja"}}, []string{"ja"}, ErrForbidden},
		{"a viewer of the jurisdiction", Actor{Role: auth.RoleViewer, Jurisdictions: []string{"ja"}}, []string{"ja"}, ErrForbidden},
		{"a silence that reaches no site", Actor{Role: auth.RoleAdmin, Jurisdictions: []string{auth.AllJurisdictions}}, nil, ErrNotVisible},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := Silence(c.a, c.scope)
			if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
				t.Errorf("got %v, want %v", err, c.want)
			}
		})
	}
}

func TestEvidenceIsForRespondersWhoSeeTheIncident(t *testing.T) {
	inc := message.Incident{ID: "inc-1", Jurisdictions: []string{"ja", "jb"}}
	cases := []struct {
		name string
		a    Actor
		want error
	}{
		{"the origin's responder", Actor{Role: auth.RoleResponder, Jurisdictions: []string{"ja"}}, nil},
		{"a downstream responder", Actor{Role: auth.RoleResponder, Jurisdictions: []string{"jb"}}, nil},
		{"an admin who sees it", Actor{Role: auth.RoleAdmin, Jurisdictions: []string{"jb"}}, nil},
		{"a viewer who sees it", Actor{Role: auth.RoleViewer, Jurisdictions: []string{"ja"}}, ErrForbidden},
		{"a responder elsewhere", Actor{Role: auth.RoleResponder, Jurisdictions: []string{"jc"}}, ErrNotVisible},
		{"a viewer elsewhere is not told it exists", Actor{Role: auth.RoleViewer, Jurisdictions: []string{"jc"}}, ErrNotVisible},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := Evidence(c.a, inc)
			if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
				t.Errorf("got %v, want %v", err, c.want)
			}
		})
	}
}

// A station command is for the responders and admins holding the site's jurisdiction.
func TestStationCommandsAreForRespondersAndAdminsOfTheSite(t *testing.T) {
	cases := []struct {
		name string
		a    Actor
		want error
	}{
		{"a responder of the site's jurisdiction", Actor{Role: auth.RoleResponder, Jurisdictions: []string{"ja"}}, nil},
		{"an admin of the site's jurisdiction", Actor{Role: auth.RoleAdmin, Jurisdictions: []string{"ja"}}, nil},
		{"an admin of every jurisdiction", Actor{Role: auth.RoleAdmin, Jurisdictions: []string{auth.AllJurisdictions}}, nil},
		{"a responder of another jurisdiction", Actor{Role: auth.RoleResponder, Jurisdictions: []string{"jb"}}, ErrNotVisible},
		{"an admin of another jurisdiction", Actor{Role: auth.RoleAdmin, Jurisdictions: []string{"jb"}}, ErrNotVisible},
		{"a viewer of the site's jurisdiction", Actor{Role: auth.RoleViewer, Jurisdictions: []string{"ja"}}, ErrForbidden},
		{"an actor without a role", Actor{Jurisdictions: []string{"ja"}}, ErrForbidden},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := StationCommand(c.a, "ja")
			if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
				t.Errorf("got %v, want %v", err, c.want)
			}
		})
	}
}
