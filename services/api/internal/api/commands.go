package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/riverwatch/riverwatch/pkg/auth"
	"github.com/riverwatch/riverwatch/pkg/authz"
	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/standard"
)

// Command outcomes (riverwatch_api_commands_total{outcome}).
const (
	OutcomeApplied = "applied"
	OutcomePending = "pending"
	OutcomeRefused = "refused"
)

// RefusedActions are the log actions with which the responder records a command it would
// not apply (an unknown step, an incident already closed); the entry's Detail says why.
var RefusedActions = []string{"command_refused", "command_rejected"}

// CommandRequest is the optional body of a command.
type CommandRequest struct {
	Note string `json:"note,omitempty"`
	// Step names the step whose receipt is confirmed (POST .../receipt); when absent, the
	// first step of the caller's jurisdictions that awaits a receipt.
	Step string `json:"step,omitempty"`
}

// DrillRequest is the body of POST /api/v1/drills.
type DrillRequest struct {
	Site      string `json:"site"`
	Parameter string `json:"parameter,omitempty"` // default codmn
	Note      string `json:"note,omitempty"`
}

// CommandResponse answers a command: applied (200, with the incident as it is now) or
// pending (202, when the responder has not applied it within api.command_timeout; poll
// GET /api/v1/incidents/{id} or repeat the request with the same Idempotency-Key).
type CommandResponse struct {
	Status    string            `json:"status"`
	CommandID string            `json:"command_id"`
	Incident  *message.Incident `json:"incident,omitempty"`
}

// maxBody bounds a command body.
const maxBody = 64 << 10

func decodeBody(r *http.Request, v any) error {
	data, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return badf("read body: %v", err)
	}
	if len(data) > maxBody {
		return badf("body larger than %d bytes", maxBody)
	}
	if len(strings.TrimSpace(string(data))) == 0 {
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badf("body: %v", err)
	}
	return nil
}

// commandID is deterministic for a client's Idempotency-Key (a retried request is the same
// command, which the responder applies once) and random otherwise: a command is a person's
// intent, and two clicks are two intents.
func commandID(r *http.Request, p *auth.Principal, parts ...string) string {
	key := strings.TrimSpace(r.Header.Get("Idempotency-Key"))
	if key == "" {
		var b [16]byte
		_, _ = rand.Read(b[:])
		return hex.EncodeToString(b[:])
	}
	h := sha256.New()
	for _, s := range append([]string{"api-command", p.Name, key}, parts...) {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

func (s *Server) handleAck(w http.ResponseWriter, r *http.Request) {
	s.incidentCommand(w, r, message.CommandAcknowledge, func(inc message.Incident, p *auth.Principal, req *CommandRequest) (string, error) {
		if inc.Status != message.IncidentOpen {
			return "", conflictf("incident %s is %s: only an open incident can be acknowledged", inc.ID, inc.Status)
		}
		return "", nil
	})
}

func (s *Server) handleResolve(w http.ResponseWriter, r *http.Request) {
	s.incidentCommand(w, r, message.CommandResolve, func(inc message.Incident, p *auth.Principal, req *CommandRequest) (string, error) {
		if inc.Status == message.IncidentResolved || inc.Status == message.IncidentClosed {
			return "", conflictf("incident %s is already %s", inc.ID, inc.Status)
		}
		return "", nil
	})
}

func (s *Server) handleReceipt(w http.ResponseWriter, r *http.Request) {
	s.incidentCommand(w, r, message.CommandConfirmReceipt, func(inc message.Incident, p *auth.Principal, req *CommandRequest) (string, error) {
		if req.Step != "" {
			st, err := stepFor(inc, p, req.Step)
			if err != nil {
				return "", err
			}
			if st.ReceiptAt != nil {
				return "", conflictf("receipt of step %s was already confirmed at %s", st.ID, st.ReceiptAt.Format(time.RFC3339))
			}
			return st.ID, nil
		}
		for _, st := range inc.Steps {
			if st.ConfirmReceipt && st.ReceiptAt == nil && p.Sees(st.Jurisdiction) {
				return st.ID, nil
			}
		}
		return "", conflictf("incident %s has no step of your jurisdictions awaiting a receipt", inc.ID)
	})
}

func (s *Server) handleStepDone(w http.ResponseWriter, r *http.Request) {
	s.incidentCommand(w, r, message.CommandStepDone, func(inc message.Incident, p *auth.Principal, req *CommandRequest) (string, error) {
		st, err := stepFor(inc, p, r.PathValue("step"))
		if err != nil {
			return "", err
		}
		if st.DoneAt != nil {
			return "", conflictf("step %s was already done at %s", st.ID, st.DoneAt.Format(time.RFC3339))
		}
		return st.ID, nil
	})
}

// stepFor finds a step the caller may act on: 404 when the incident has no such step,
// 403 when it belongs to a jurisdiction the caller does not see.
func stepFor(inc message.Incident, p *auth.Principal, id string) (message.Step, error) {
	i := slices.IndexFunc(inc.Steps, func(st message.Step) bool { return st.ID == id })
	if i < 0 {
		return message.Step{}, &statusError{http.StatusNotFound, "not_found", fmt.Sprintf("incident %s has no step %q", inc.ID, id)}
	}
	st := inc.Steps[i]
	if !p.Sees(st.Jurisdiction) {
		return st, &statusError{http.StatusForbidden, "forbidden", fmt.Sprintf("step %s is for jurisdiction %s, which this token does not see", id, st.Jurisdiction)}
	}
	return st, nil
}

// statusError is a refusal with its HTTP status.
type statusError struct {
	status int
	code   string
	msg    string
}

func (e *statusError) Error() string { return e.msg }

func conflictf(format string, args ...any) error {
	return &statusError{http.StatusConflict, "conflict", fmt.Sprintf(format, args...)}
}

// incidentCommand runs one incident command: authorise, check its precondition, publish,
// wait for the responder.
func (s *Server) incidentCommand(w http.ResponseWriter, r *http.Request, typ string,
	check func(message.Incident, *auth.Principal, *CommandRequest) (stepID string, err error),
) {
	p := principal(r)
	var req CommandRequest
	if err := decodeBody(r, &req); err != nil {
		s.handleErr(w, r, typ, err)
		return
	}
	inc, ok := s.incidentFor(w, r)
	if !ok {
		return
	}
	// The id follows the request as the client wrote it (a receipt without a step names
	// none), so that a retry with the same Idempotency-Key is the same command.
	step := r.PathValue("step")
	if typ == message.CommandConfirmReceipt {
		step = req.Step
	}
	id := commandID(r, p, typ, inc.ID, step)
	// A repeated request (same Idempotency-Key) of a command already applied answers what
	// happened rather than refusing it against the state it caused.
	if entry, err := s.store.CommandLog(r.Context(), id); err == nil {
		s.answerApplied(w, r, typ, id, entry, time.Now())
		return
	}
	if err := s.authorise(inc, p, typ, step); err != nil {
		s.refuse(w, r, err)
		return
	}
	stepID, err := check(inc, p, &req)
	if err != nil {
		var se *statusError
		if errors.As(err, &se) {
			s.fail(w, r, se.status, se.code, "%s", se.msg)
			return
		}
		s.handleErr(w, r, typ, err)
		return
	}
	s.run(w, r, message.Command{
		ID: id, Type: typ, IncidentID: inc.ID, Site: inc.Site, StepID: stepID, Actor: p.Name, ActorRole: p.Role,
		ActorJurisdictions: slices.Clone(p.Jurisdictions), Note: req.Note, At: s.now().UTC(),
	})
}

// authorise applies pkg/authz, the rules the responder applies again: acknowledge and
// resolve need the incident's origin jurisdiction, a receipt or step_done the step's. A
// receipt without a step is checked against the step it will pick (in check).
func (s *Server) authorise(inc message.Incident, p *auth.Principal, typ, step string) error {
	stepJurisdiction := ""
	if step != "" {
		i := slices.IndexFunc(inc.Steps, func(st message.Step) bool { return st.ID == step })
		if i < 0 {
			return nil // check answers 404 for the unknown step
		}
		stepJurisdiction = inc.Steps[i].Jurisdiction
	} else if typ == message.CommandConfirmReceipt {
		return nil // check picks a step of the caller's own jurisdictions, or answers 409
	}
	return authz.Incident(authz.FromPrincipal(p), typ, inc, s.origin(inc), stepJurisdiction)
}

// origin is the jurisdiction of the site where an incident started.
func (s *Server) origin(inc message.Incident) string {
	if site, ok := s.net.Site(inc.Site); ok {
		return site.Jurisdiction
	}
	if len(inc.Jurisdictions) > 0 {
		return inc.Jurisdictions[0]
	}
	return ""
}

// refuse answers an authz refusal: 404 for what the caller does not see, 403 otherwise.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, authz.ErrNotVisible) {
		s.fail(w, r, http.StatusNotFound, "not_found", "not found")
		return
	}
	s.fail(w, r, http.StatusForbidden, "forbidden", "%v", err)
}

func (s *Server) handleDrill(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	var req DrillRequest
	if err := decodeBody(r, &req); err != nil {
		s.handleErr(w, r, "drill", err)
		return
	}
	site, ok := s.net.Site(req.Site)
	switch {
	case req.Site == "":
		s.fail(w, r, http.StatusBadRequest, "bad_request", "body: site is required")
		return
	case !ok || !p.Sees(site.Jurisdiction):
		// A site outside the caller's jurisdictions is answered as an unknown one (L9).
		s.fail(w, r, http.StatusNotFound, "not_found", "site %q not found", req.Site)
		return
	}
	if err := authz.Drill(authz.FromPrincipal(p), site.Jurisdiction); err != nil {
		s.refuse(w, r, err)
		return
	}
	if req.Parameter == "" {
		req.Parameter = "codmn"
	}
	if !standard.Known(req.Parameter) {
		s.fail(w, r, http.StatusBadRequest, "bad_request", "parameter %q is not a canonical parameter code", req.Parameter)
		return
	}
	id := commandID(r, p, message.CommandDrill, site.ID, req.Parameter)
	if entry, err := s.store.CommandLog(r.Context(), id); err == nil {
		s.answerApplied(w, r, message.CommandDrill, id, entry, time.Now())
		return
	}
	s.run(w, r, message.Command{
		ID: id, Type: message.CommandDrill, Actor: p.Name, ActorRole: p.Role, ActorJurisdictions: slices.Clone(p.Jurisdictions),
		Note: req.Note, Site: site.ID, Parameter: req.Parameter, At: s.now().UTC(),
	})
}

// run publishes a command and waits for the responder to apply it.
func (s *Server) run(w http.ResponseWriter, r *http.Request, cmd message.Command) {
	start := time.Now()
	if err := s.cmd.Send(r.Context(), cmd); err != nil {
		s.metrics.commands.WithLabelValues(cmd.Type, "send_failed").Inc()
		s.internalFail(w, r, http.StatusServiceUnavailable, "send_failed", "send command "+cmd.Type+" to the responder", err)
		return
	}
	s.log.Info("command sent", "command", cmd.ID, "type", cmd.Type, "incident", cmd.IncidentID, "step", cmd.StepID, "actor", cmd.Actor)
	ctx, cancel := context.WithTimeout(r.Context(), s.opt.CommandTimeout)
	defer cancel()
	entry, inc, err := s.await(ctx, cmd.ID)
	switch {
	case err == nil:
		s.answer(w, r, cmd.Type, cmd.ID, entry, inc, start)
	case expired(ctx) && !expired(r.Context()):
		// The wait is over, whatever error the cut-off query returned (clickhouse-go can
		// report the deadline as a network timeout): the command is on its way, not failed.
		s.metrics.commands.WithLabelValues(cmd.Type, OutcomePending).Inc()
		writeJSON(w, http.StatusAccepted, CommandResponse{Status: OutcomePending, CommandID: cmd.ID})
	default:
		s.storeFail(w, r, "command "+cmd.ID, err)
	}
}

// await polls the responder's audit trail for the command's log entry, then for the
// incident snapshot at least as new as that entry.
func (s *Server) await(ctx context.Context, commandID string) (message.LogEntry, message.Incident, error) {
	return awaitApplied(ctx, s, commandID, func(ctx context.Context, entry message.LogEntry) (message.Incident, uint64, error) {
		inc, err := s.store.Incident(ctx, entry.IncidentID)
		return inc, inc.Version, err
	})
}

// awaitApplied polls the audit trail every CommandPoll for the command's log entry, then,
// unless the responder refused the command, for the snapshot the command changed until
// it is at least as new as the entry: the archiver may store the two in different
// batches, and an answer must not show the state from before the command.
func awaitApplied[T any](ctx context.Context, s *Server, commandID string,
	snapshot func(context.Context, message.LogEntry) (T, uint64, error)) (message.LogEntry, T, error) {
	tick := time.NewTicker(s.opt.CommandPoll)
	defer tick.Stop()
	var none T
	var entry *message.LogEntry
	for {
		if entry == nil {
			e, err := s.store.CommandLog(ctx, commandID)
			switch {
			case err == nil:
				entry = &e
			case !errors.Is(err, ErrNotFound):
				return message.LogEntry{}, none, err
			}
		}
		if entry != nil {
			if slices.Contains(RefusedActions, entry.Action) {
				return *entry, none, nil
			}
			v, version, err := snapshot(ctx, *entry)
			switch {
			case err == nil && version >= entry.Version:
				return *entry, v, nil
			case err != nil && !errors.Is(err, ErrNotFound):
				return *entry, v, err
			}
		}
		select {
		case <-ctx.Done():
			return message.LogEntry{}, none, ctx.Err()
		case <-tick.C:
		}
	}
}

// answerApplied answers a command whose log entry is already stored.
func (s *Server) answerApplied(w http.ResponseWriter, r *http.Request, typ, id string, entry message.LogEntry, start time.Time) {
	ctx, cancel := context.WithTimeout(r.Context(), s.opt.CommandTimeout)
	defer cancel()
	entry, inc, err := s.await(ctx, id)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && r.Context().Err() == nil {
			writeJSON(w, http.StatusAccepted, CommandResponse{Status: OutcomePending, CommandID: id})
			return
		}
		s.storeFail(w, r, "command "+id, err)
		return
	}
	s.answer(w, r, typ, id, entry, inc, start)
}

func (s *Server) answer(w http.ResponseWriter, r *http.Request, typ, id string, entry message.LogEntry, inc message.Incident, start time.Time) {
	if slices.Contains(RefusedActions, entry.Action) {
		s.metrics.commands.WithLabelValues(typ, OutcomeRefused).Inc()
		s.metrics.errors.WithLabelValues("conflict").Inc()
		writeJSON(w, http.StatusConflict, apiError{Error: "the responder refused the command: " + entry.Detail, Code: "refused", CommandID: id})
		return
	}
	s.metrics.commands.WithLabelValues(typ, OutcomeApplied).Inc()
	s.metrics.commandWait.Observe(time.Since(start).Seconds())
	s.hub.Publish(Notice{Kind: "incidents", At: s.now().UTC()})
	writeJSON(w, http.StatusOK, CommandResponse{Status: OutcomeApplied, CommandID: id, Incident: &inc})
}
