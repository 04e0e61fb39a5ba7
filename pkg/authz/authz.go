// Package authz is riverwatch's one rule book for operator commands: who may acknowledge
// an incident, confirm a step's receipt, mark a step done, resolve an incident and start a
// drill. The api applies it before publishing a command and the responder applies it again
// before changing any state (defence in depth: a command that reaches the commands topic
// some other way is held to the same rules). docs/security.md, "Command authorisation",
// explains the choices.
//
// The rules:
//
//   - acknowledge and resolve: a responder (or an admin) of the incident's origin
//     jurisdiction — the jurisdiction of the site where it started. Acknowledging settles
//     the "not acknowledged" escalation of every step and resolving sends End of Alert to
//     everyone, up- and downstream, so only the desk that owns the incident does either.
//   - confirm receipt and step done: a responder (or an admin) of the step's own
//     jurisdiction. A step's playbook role (eeb, river_chief_office, ...) names the contact
//     that is notified; API tokens are per jurisdiction desk, so the jurisdiction is what a
//     token is checked against.
//   - evidence bundle: a responder (or an admin) who sees the incident (Evidence).
//   - drill: an admin whose jurisdictions include the drill site's (a site outside them is
//     ErrNotVisible, as an unknown one).
//
// Viewers may do none of these. A token sees an incident when it sees any jurisdiction the
// incident concerns; a command on an incident it does not see is ErrNotVisible (the api
// answers 404, so that nobody learns that the incident exists), a command it sees but may
// not give is ErrForbidden (403).
package authz

import (
	"errors"
	"fmt"

	"github.com/riverwatch/riverwatch/pkg/auth"
	"github.com/riverwatch/riverwatch/pkg/message"
)

// Refusal kinds, matched with errors.Is.
var (
	// ErrForbidden: the actor sees the object but its role or jurisdictions do not allow
	// the command.
	ErrForbidden = errors.New("forbidden")
	// ErrNotVisible: the actor does not see the object at all.
	ErrNotVisible = errors.New("not visible")
)

// Actor is who gives a command, as the api authenticated them.
type Actor struct {
	Name          string
	Role          string
	Jurisdictions []string
}

// FromCommand returns the actor a command names.
func FromCommand(cmd message.Command) Actor {
	return Actor{Name: cmd.Actor, Role: cmd.ActorRole, Jurisdictions: cmd.ActorJurisdictions}
}

// FromPrincipal returns the actor of an authenticated API caller.
func FromPrincipal(p *auth.Principal) Actor {
	return Actor{Name: p.Name, Role: p.Role, Jurisdictions: p.Jurisdictions}
}

func (a Actor) principal() *auth.Principal {
	return &auth.Principal{Name: a.Name, Role: a.Role, Jurisdictions: a.Jurisdictions}
}

func refuse(kind error, format string, args ...any) error {
	return fmt.Errorf("%w: %s", kind, fmt.Sprintf(format, args...))
}

// Sees reports whether the actor sees the incident: any of its jurisdictions.
func (a Actor) Sees(inc message.Incident) bool { return a.principal().SeesAny(inc.Jurisdictions) }

// Incident decides whether the actor may give a command of type typ on inc. origin is the
// jurisdiction of the site where the incident started; stepJurisdiction is the jurisdiction
// of the step a receipt or step_done names (ignored for the other types).
func Incident(a Actor, typ string, inc message.Incident, origin, stepJurisdiction string) error {
	p := a.principal()
	if !p.SeesAny(inc.Jurisdictions) {
		return refuse(ErrNotVisible, "incident %s concerns jurisdictions %v, none of which %s sees", inc.ID, inc.Jurisdictions, a.describe())
	}
	if !p.Can(auth.RoleResponder) {
		return refuse(ErrForbidden, "role %q may not %s (needs responder or admin)", a.Role, typ)
	}
	switch typ {
	case message.CommandAcknowledge, message.CommandResolve:
		if !p.Sees(origin) {
			return refuse(ErrForbidden, "%s of incident %s is for its origin jurisdiction %s, which %s does not hold", typ, inc.ID, origin, a.describe())
		}
	case message.CommandConfirmReceipt, message.CommandStepDone:
		if !p.Sees(stepJurisdiction) {
			return refuse(ErrForbidden, "the step is for jurisdiction %s, which %s does not hold", stepJurisdiction, a.describe())
		}
	default:
		return refuse(ErrForbidden, "unknown command type %q", typ)
	}
	return nil
}

// Drill decides whether the actor may start a drill at a site of siteJurisdiction.
func Drill(a Actor, siteJurisdiction string) error {
	p := a.principal()
	if !p.Can(auth.RoleAdmin) {
		return refuse(ErrForbidden, "role %q may not start a drill (needs admin)", a.Role)
	}
	if !p.Sees(siteJurisdiction) {
		return refuse(ErrNotVisible, "the drill site belongs to jurisdiction %s, which %s does not hold", siteJurisdiction, a.describe())
	}
	return nil
}

// Correct decides who may correct a stored reading's value: an admin holding the site's
// jurisdiction. Nothing else can change a stored value (security review M5).
func Correct(a Actor, siteJurisdiction string) error {
	p := a.principal()
	if !p.Can(auth.RoleAdmin) {
		return refuse(ErrForbidden, "role %q may not correct a reading (needs admin)", a.Role)
	}
	if !p.Sees(siteJurisdiction) {
		return refuse(ErrNotVisible, "the site belongs to jurisdiction %s, which %s does not hold", siteJurisdiction, a.describe())
	}
	return nil
}

// Evidence decides who may download an incident's evidence bundle: a responder (or an
// admin) who sees the incident, downstream desks included — the bundle is theirs to account
// for as much as the origin's. A viewer is refused (ErrForbidden); an incident outside the
// actor's jurisdictions is ErrNotVisible. What the bundle holds of sites the actor does not
// see is left out by the api, as everywhere else.
func Evidence(a Actor, inc message.Incident) error {
	p := a.principal()
	if !p.SeesAny(inc.Jurisdictions) {
		return refuse(ErrNotVisible, "incident %s concerns jurisdictions %v, none of which %s sees", inc.ID, inc.Jurisdictions, a.describe())
	}
	if !p.Can(auth.RoleResponder) {
		return refuse(ErrForbidden, "role %q may not download evidence (needs responder or admin)", a.Role)
	}
	return nil
}

func (a Actor) describe() string {
	if a.Name == "" {
		return "the actor"
	}
	return fmt.Sprintf("%s (%s %v)", a.Name, a.Role, a.Jurisdictions)
}

// Silence decides whether the actor may create or expire a silence whose scope (the
// jurisdictions of the sites it can concern, pkg/silence.Scope) is jurisdictions: an admin
// who holds every one of them, since a silence holds the notifications of all of them. An
// actor who sees none of them does not see the silence (ErrNotVisible).
func Silence(a Actor, jurisdictions []string) error {
	p := a.principal()
	if len(jurisdictions) == 0 || !p.SeesAny(jurisdictions) {
		return refuse(ErrNotVisible, "the silence concerns jurisdictions %v, none of which %s sees", jurisdictions, a.describe())
	}
	if !p.Can(auth.RoleAdmin) {
		return refuse(ErrForbidden, "role %q may not create or expire a silence (needs admin)", a.Role)
	}
	for _, j := range jurisdictions {
		if !p.Sees(j) {
			return refuse(ErrForbidden, "the silence concerns jurisdiction %s, which %s does not hold", j, a.describe())
		}
	}
	return nil
}

// StationCommand decides who may send a host command to a site's station (raise its
// reporting frequency, retain a sample, …): a responder or an admin holding the site's
// jurisdiction. A responder of a neighbouring jurisdiction asks that jurisdiction's
// desk, or the incident's playbook does it.
func StationCommand(a Actor, siteJurisdiction string) error {
	p := a.principal()
	if !p.Can(auth.RoleResponder) {
		return refuse(ErrForbidden, "role %q may not command a station (needs responder)", a.Role)
	}
	if !p.Sees(siteJurisdiction) {
		return refuse(ErrNotVisible, "the site belongs to jurisdiction %s, which %s does not hold", siteJurisdiction, a.describe())
	}
	return nil
}
