package api

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/riverwatch/riverwatch/pkg/authz"
	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/silence"
)

// maxSilences bounds the silences one list answers.
const maxSilences = 1000

// SilenceRequest is the body of POST /api/v1/silences: Alertmanager's silence in this
// API's snake_case. created_by is the caller's token name, not part of the body.
type SilenceRequest struct {
	Matchers []silence.Matcher `json:"matchers"`
	// StartsAt defaults to now.
	StartsAt     *time.Time          `json:"starts_at,omitempty"`
	EndsAt       time.Time           `json:"ends_at"`
	Comment      string              `json:"comment"`
	EndOnResolve bool                `json:"end_on_resolve,omitempty"`
	Recurrence   *silence.Recurrence `json:"recurrence,omitempty"`
}

// SilenceView is a silence as the API shows it: with its state now (pending, active,
// expired) and the jurisdictions of the sites it can concern (who may expire it: an admin
// of all of them).
type SilenceView struct {
	silence.Silence
	State         string   `json:"state"`
	Jurisdictions []string `json:"jurisdictions"`
}

// SilencesResponse answers GET /api/v1/silences.
type SilencesResponse struct {
	Silences []SilenceView `json:"silences"`
}

// SilenceResponse answers a silence command: applied (200, with the silence as it is now)
// or pending (202: the responder has not applied it within api.command_timeout).
type SilenceResponse struct {
	Status    string       `json:"status"`
	CommandID string       `json:"command_id"`
	SilenceID string       `json:"silence_id"`
	Silence   *SilenceView `json:"silence,omitempty"`
}

var silenceStates = []string{silence.StatePending, silence.StateActive, silence.StateExpired}

func (s *Server) silenceView(sil silence.Silence, now time.Time) SilenceView {
	return SilenceView{Silence: sil, State: sil.State(now), Jurisdictions: silence.Scope(&sil, s.net)}
}

// handleSilences lists the silences the caller sees (any jurisdiction of their scope),
// pending and active ones unless ?state= says otherwise.
func (s *Server) handleSilences(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	states := listOf(r, "state")
	for _, st := range states {
		if !slices.Contains(silenceStates, st) {
			s.fail(w, r, http.StatusBadRequest, "bad_request", "state=%q: want one of %v", st, silenceStates)
			return
		}
	}
	if len(states) == 0 {
		states = []string{silence.StatePending, silence.StateActive}
	}
	now := s.now().UTC()
	q := SilenceQuery{Limit: maxSilences}
	if !slices.Contains(states, silence.StateExpired) {
		q.EndsAfter = now
	}
	list, err := s.store.Silences(r.Context(), q)
	if err != nil {
		s.storeFail(w, r, "silences", err)
		return
	}
	out := SilencesResponse{Silences: []SilenceView{}}
	for _, sil := range list {
		v := s.silenceView(sil, now)
		if slices.Contains(states, v.State) && p.SeesAny(v.Jurisdictions) {
			out.Silences = append(out.Silences, v)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// silenceFor loads the silence the path names, answering 404 for one the caller does not
// see, exactly as for one that does not exist.
func (s *Server) silenceFor(w http.ResponseWriter, r *http.Request) (silence.Silence, bool) {
	id := r.PathValue("id")
	sil, err := s.store.Silence(r.Context(), id)
	switch {
	case errors.Is(err, ErrNotFound):
		s.fail(w, r, http.StatusNotFound, "not_found", "silence %q not found", id)
		return sil, false
	case err != nil:
		s.storeFail(w, r, "silence "+id, err)
		return sil, false
	case !principal(r).SeesAny(silence.Scope(&sil, s.net)):
		s.fail(w, r, http.StatusNotFound, "not_found", "silence %q not found", id)
		return sil, false
	}
	return sil, true
}

func (s *Server) handleSilence(w http.ResponseWriter, r *http.Request) {
	sil, ok := s.silenceFor(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, s.silenceView(sil, s.now().UTC()))
}

// handleCreateSilence validates a silence, authorises it (an admin of every jurisdiction
// it can concern, pkg/authz.Silence) and sends it to the responder.
func (s *Server) handleCreateSilence(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	var req SilenceRequest
	if err := decodeBody(r, &req); err != nil {
		s.handleErr(w, r, message.CommandSilenceCreate, err)
		return
	}
	now := s.now().UTC()
	cmdID := commandID(r, p, message.CommandSilenceCreate)
	sil := silence.Silence{
		ID: "sil-" + cmdID[:16], Matchers: req.Matchers, StartsAt: now, EndsAt: req.EndsAt.UTC(),
		CreatedBy: p.Name, Comment: req.Comment, EndOnResolve: req.EndOnResolve, Recurrence: req.Recurrence,
	}
	if req.StartsAt != nil {
		sil.StartsAt = req.StartsAt.UTC()
	}
	if err := sil.Validate(); err != nil {
		s.fail(w, r, http.StatusBadRequest, "bad_request", "silence: %v", err)
		return
	}
	if !now.Before(sil.EndsAt) {
		s.fail(w, r, http.StatusBadRequest, "bad_request", "silence: ends_at %s is in the past", sil.EndsAt.Format(time.RFC3339))
		return
	}
	if err := authz.Silence(authz.FromPrincipal(p), silence.Scope(&sil, s.net)); err != nil {
		s.refuse(w, r, err)
		return
	}
	s.runSilence(w, r, message.Command{
		ID: cmdID, Type: message.CommandSilenceCreate, SilenceID: sil.ID, Silence: &sil, Actor: p.Name,
		ActorRole: p.Role, ActorJurisdictions: slices.Clone(p.Jurisdictions), At: now,
	})
}

// handleExpireSilence ends a silence now (Alertmanager's DELETE /silence/{id}: expire, the
// record stays).
func (s *Server) handleExpireSilence(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	sil, ok := s.silenceFor(w, r)
	if !ok {
		return
	}
	cmdID := commandID(r, p, message.CommandSilenceExpire, sil.ID)
	if _, err := s.store.CommandLog(r.Context(), cmdID); err == nil {
		// A retry (same Idempotency-Key) of an expiry already handled: what happened then.
		s.runSilence(w, r, message.Command{ID: cmdID, Type: message.CommandSilenceExpire, SilenceID: sil.ID})
		return
	}
	if err := authz.Silence(authz.FromPrincipal(p), silence.Scope(&sil, s.net)); err != nil {
		s.refuse(w, r, err)
		return
	}
	now := s.now().UTC()
	if sil.State(now) == silence.StateExpired {
		s.fail(w, r, http.StatusConflict, "conflict", "silence %s already ended at %s", sil.ID, sil.EndsAt.Format(time.RFC3339))
		return
	}
	s.runSilence(w, r, message.Command{
		ID: cmdID, Type: message.CommandSilenceExpire, SilenceID: sil.ID, Actor: p.Name,
		ActorRole: p.Role, ActorJurisdictions: slices.Clone(p.Jurisdictions), At: now,
	})
}

// runSilence publishes a silence command (unless it is already applied: a retry with the
// same Idempotency-Key) and waits for the responder: its log entry, then the silence's
// snapshot at least as new.
func (s *Server) runSilence(w http.ResponseWriter, r *http.Request, cmd message.Command) {
	start := time.Now()
	if _, err := s.store.CommandLog(r.Context(), cmd.ID); err != nil {
		if err := s.cmd.Send(r.Context(), cmd); err != nil {
			s.metrics.commands.WithLabelValues(cmd.Type, "send_failed").Inc()
			s.internalFail(w, r, http.StatusServiceUnavailable, "send_failed", "send command "+cmd.Type+" to the responder", err)
			return
		}
		s.log.Info("command sent", "command", cmd.ID, "type", cmd.Type, "silence", cmd.SilenceID, "actor", cmd.Actor)
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.opt.CommandTimeout)
	defer cancel()
	entry, sil, err := s.awaitSilence(ctx, cmd.ID, cmd.SilenceID)
	switch {
	case err == nil && slices.Contains(RefusedActions, entry.Action):
		s.metrics.commands.WithLabelValues(cmd.Type, OutcomeRefused).Inc()
		s.metrics.errors.WithLabelValues("conflict").Inc()
		writeJSON(w, http.StatusConflict, apiError{Error: "the responder refused the command: " + entry.Detail, Code: "refused", CommandID: cmd.ID})
	case err == nil:
		s.metrics.commands.WithLabelValues(cmd.Type, OutcomeApplied).Inc()
		s.metrics.commandWait.Observe(time.Since(start).Seconds())
		v := s.silenceView(sil, s.now().UTC())
		writeJSON(w, http.StatusOK, SilenceResponse{Status: OutcomeApplied, CommandID: cmd.ID, SilenceID: cmd.SilenceID, Silence: &v})
	case expired(ctx) && !expired(r.Context()):
		s.metrics.commands.WithLabelValues(cmd.Type, OutcomePending).Inc()
		writeJSON(w, http.StatusAccepted, SilenceResponse{Status: OutcomePending, CommandID: cmd.ID, SilenceID: cmd.SilenceID})
	default:
		s.storeFail(w, r, "command "+cmd.ID, err)
	}
}

// awaitSilence waits for the command's log entry, then for the silence's snapshot at
// least as new.
func (s *Server) awaitSilence(ctx context.Context, commandID, silenceID string) (message.LogEntry, silence.Silence, error) {
	return awaitApplied(ctx, s, commandID, func(ctx context.Context, _ message.LogEntry) (silence.Silence, uint64, error) {
		sil, err := s.store.Silence(ctx, silenceID)
		return sil, sil.Version, err
	})
}
