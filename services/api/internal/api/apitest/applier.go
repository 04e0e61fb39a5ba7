package apitest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/services/api/internal/api"
)

// Applier is an api.Commander that plays the responder against a MemStore: it applies each
// command to the stored incident, bumps its version and writes the audit-trail entry that
// carries the command id, which is what the API waits for.
type Applier struct {
	Store *MemStore
	// Delay applies the command this long after Send returns (0: before it returns).
	Delay time.Duration
	// Drop records commands without applying them: the responder is down.
	Drop bool
	// SendErr, when set, is returned by Send: Kafka is down.
	SendErr error
	// BeforeApply, when set, runs just before a command is applied: what others changed
	// in the meantime.
	BeforeApply func(message.Command)
	// Now is the clock; nil uses time.Now.
	Now func() time.Time

	mu   sync.Mutex
	sent []message.Command
	wg   sync.WaitGroup
}

var _ api.Commander = (*Applier)(nil)

// Sent returns the commands received so far.
func (a *Applier) Sent() []message.Command {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.sent)
}

// Wait waits for delayed applications to finish.
func (a *Applier) Wait() { a.wg.Wait() }

// Send implements api.Commander.
func (a *Applier) Send(_ context.Context, cmd message.Command) error {
	if a.SendErr != nil {
		return a.SendErr
	}
	a.mu.Lock()
	a.sent = append(a.sent, cmd)
	a.mu.Unlock()
	if a.Drop {
		return nil
	}
	if a.Delay <= 0 {
		a.apply(cmd)
		return nil
	}
	a.wg.Add(1)
	time.AfterFunc(a.Delay, func() {
		defer a.wg.Done()
		a.apply(cmd)
	})
	return nil
}

func (a *Applier) now() time.Time {
	if a.Now != nil {
		return a.Now().UTC()
	}
	return time.Now().UTC()
}

// apply changes the incident as the responder would; a command it cannot apply is logged
// as command_refused with the reason.
func (a *Applier) apply(cmd message.Command) {
	if a.BeforeApply != nil {
		a.BeforeApply(cmd)
	}
	now := a.now()
	if cmd.ActorRole == "" || len(cmd.ActorJurisdictions) == 0 {
		// The responder refuses a command that does not say who gave it (pkg/authz).
		a.Store.AddLog(message.LogEntry{ID: cmd.ID + "-log", IncidentID: cmd.IncidentID, At: now, Actor: cmd.Actor,
			Action: "command_refused", Detail: "not authorised: the command names no actor role or jurisdictions", CommandID: cmd.ID})
		return
	}
	if cmd.Type == message.CommandDrill {
		inc := message.Incident{
			ID: "drill-" + cmd.ID[:8], Version: 1, Title: "演练：" + cmd.Site + " " + cmd.Parameter,
			Status: message.IncidentOpen, Level: "IV", Colour: "blue", Playbook: "drill", Site: cmd.Site,
			Sites: []string{cmd.Site}, Parameters: []string{cmd.Parameter}, Jurisdictions: []string{"changji"},
			Drill: true, OpenedAt: now, UpdatedAt: now, EventIDs: []string{}, Steps: []message.Step{},
		}
		a.Store.PutIncident(inc)
		a.Store.AddLog(message.LogEntry{ID: cmd.ID + "-log", IncidentID: inc.ID, Version: 1, At: now, Actor: cmd.Actor,
			Action: "drill_started", Detail: cmd.Note, CommandID: cmd.ID})
		return
	}
	if cmd.Type == message.CommandSilenceCreate || cmd.Type == message.CommandSilenceExpire {
		a.applySilence(cmd, now)
		return
	}
	inc, err := a.Store.Incident(context.Background(), cmd.IncidentID)
	if err != nil {
		return
	}
	action, err := change(&inc, cmd, now)
	entry := message.LogEntry{ID: cmd.ID + "-log", IncidentID: inc.ID, At: now, Actor: cmd.Actor, CommandID: cmd.ID}
	if err != nil {
		entry.Version, entry.Action, entry.Detail = inc.Version, "command_refused", err.Error()
		a.Store.AddLog(entry)
		return
	}
	inc.Version++
	inc.UpdatedAt = now
	// The snapshot first, then the log entry: the API must also cope with the reverse.
	a.Store.PutIncident(inc)
	entry.Version, entry.Action, entry.Detail = inc.Version, action, cmd.Note
	a.Store.AddLog(entry)
}

func change(inc *message.Incident, cmd message.Command, now time.Time) (string, error) {
	step := func() (*message.Step, error) {
		for i := range inc.Steps {
			if inc.Steps[i].ID == cmd.StepID {
				return &inc.Steps[i], nil
			}
		}
		return nil, fmt.Errorf("incident %s has no step %q", inc.ID, cmd.StepID)
	}
	switch cmd.Type {
	case message.CommandAcknowledge:
		if inc.Status != message.IncidentOpen {
			return "", fmt.Errorf("incident is %s", inc.Status)
		}
		inc.Status, inc.AckedAt, inc.AckedBy = message.IncidentAcknowledged, &now, cmd.Actor
		inc.Acknowledgements = append(inc.Acknowledgements, message.Acknowledgement{By: cmd.Actor, At: now, Jurisdictions: cmd.ActorJurisdictions})
		return "acknowledged", nil
	case message.CommandResolve:
		inc.Status, inc.ResolvedAt = message.IncidentResolved, &now
		// As the responder does: the acknowledgement expires with the resolution.
		if n := len(inc.Acknowledgements); n > 0 && inc.AckedAt != nil {
			inc.Acknowledgements = slices.Clone(inc.Acknowledgements) // the stored version is not written through
			inc.Acknowledgements[n-1].ExpiredAt, inc.Acknowledgements[n-1].Expiry = &now, "resolved"
		}
		inc.AckedAt, inc.AckedBy = nil, ""
		return "resolved", nil
	case message.CommandConfirmReceipt:
		st, err := step()
		if err != nil {
			return "", err
		}
		st.ReceiptAt = &now
		return "receipt_confirmed", nil
	case message.CommandStepDone:
		st, err := step()
		if err != nil {
			return "", err
		}
		st.DoneAt = &now
		return "step_done", nil
	}
	return "", errors.New("unknown command " + cmd.Type)
}

var _ api.Corrector = (*Applier)(nil)

// Correct implements api.Corrector: the correction is stored at once, as the archiver
// would store it (MemStore.AddCorrections); SendErr fails it as Kafka down would.
func (a *Applier) Correct(_ context.Context, c message.Correction) error {
	if a.SendErr != nil {
		return a.SendErr
	}
	a.Store.AddCorrections(c)
	return nil
}

// applySilence creates or expires a silence as the responder would (the api has authorised
// the command already; the responder's own checks are its package's tests).
func (a *Applier) applySilence(cmd message.Command, now time.Time) {
	entry := message.LogEntry{ID: cmd.ID + "-log", IncidentID: cmd.SilenceID, At: now, Actor: cmd.Actor, CommandID: cmd.ID}
	sil, err := a.Store.Silence(context.Background(), cmd.SilenceID)
	switch {
	case cmd.Type == message.CommandSilenceCreate && err == nil:
		return // a replay
	case cmd.Type == message.CommandSilenceCreate && cmd.Silence != nil:
		sil = *cmd.Silence
		sil.CreatedBy, sil.Version, sil.UpdatedAt = cmd.Actor, 1, now
		entry.Action, entry.Detail = "silence_created", sil.Describe()
	case cmd.Type == message.CommandSilenceExpire && err == nil && sil.Expire(now, cmd.Actor, "expired by operator"):
		sil.Version++
		sil.UpdatedAt = now
		entry.Action, entry.Detail = "silence_expired", "expired by operator"
	default:
		entry.Action, entry.Detail = "command_rejected", fmt.Sprintf("%s: silence %s cannot be changed", cmd.Type, cmd.SilenceID)
		a.Store.AddLog(entry)
		return
	}
	entry.Version = sil.Version
	a.Store.PutSilence(sil)
	a.Store.AddLog(entry)
}

var _ api.StationCommander = (*Applier)(nil)

// RequestStationCommand implements api.StationCommander: the request is stored at once,
// as the archiver would store it; SendErr fails it as Kafka down would.
func (a *Applier) RequestStationCommand(_ context.Context, c message.StationCommand) error {
	if a.SendErr != nil {
		return a.SendErr
	}
	a.Store.AddStationCommands(c)
	return nil
}
