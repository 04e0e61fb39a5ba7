package api

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/riverwatch/riverwatch/pkg/authz"
	"github.com/riverwatch/riverwatch/pkg/hj212"
	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/standard"
	"github.com/segmentio/kafka-go"
)

// Corrector publishes a correction of a stored reading; it returns once the correction
// is durable (Kafka acknowledged it). The archiver stores it.
type Corrector interface {
	Correct(ctx context.Context, c message.Correction) error
}

// CorrectionRequest is the body of POST /api/v1/sites/{id}/readings/corrections: which
// reading (parameter, interval, observed_at), its new value, and why.
type CorrectionRequest struct {
	Parameter  string    `json:"parameter"`
	Interval   string    `json:"interval"`
	ObservedAt time.Time `json:"observed_at"`
	Value      *float64  `json:"value"`
	// Previous is the value being corrected, as the admin saw it (optional, recorded).
	Previous *float64 `json:"previous,omitempty"`
	// Flag is the reading's HJ 212 data flag after the correction (default N).
	Flag   string `json:"flag,omitempty"`
	Reason string `json:"reason"`
}

// CorrectionResponse answers an accepted correction: the archiver applies it within its
// batch delay, after which the reading reads with the new value.
type CorrectionResponse struct {
	Status       string `json:"status"` // accepted
	CorrectionID string `json:"correction_id"`
	ReadingID    string `json:"reading_id"`
}

var readingIntervals = []string{message.IntervalRealtime, message.IntervalMinute, message.IntervalHour, message.IntervalDay, message.IntervalSample}

// handleCorrect records an explicit correction of a stored reading: only an admin of the
// site's jurisdiction, only with a reason; who, when and why are kept with it
// (docs/security.md, "History is not rewritable").
func (s *Server) handleCorrect(w http.ResponseWriter, r *http.Request) {
	site, ok := s.siteFor(w, r)
	if !ok {
		return
	}
	p := principal(r)
	if err := authz.Correct(authz.FromPrincipal(p), site.Jurisdiction); err != nil {
		s.refuse(w, r, err)
		return
	}
	var req CorrectionRequest
	if err := decodeBody(r, &req); err != nil {
		s.handleErr(w, r, "correction", err)
		return
	}
	if req.Interval == "" {
		req.Interval = message.IntervalHour
	}
	switch {
	case !standard.Known(req.Parameter):
		s.fail(w, r, http.StatusBadRequest, "bad_request", "parameter %q is not a canonical parameter code", req.Parameter)
		return
	case !slices.Contains(readingIntervals, req.Interval):
		s.fail(w, r, http.StatusBadRequest, "bad_request", "interval %q: want one of %v", req.Interval, readingIntervals)
		return
	case req.ObservedAt.IsZero():
		s.fail(w, r, http.StatusBadRequest, "bad_request", "observed_at is required: the observation time of the reading to correct")
		return
	case req.Value == nil || math.IsNaN(*req.Value) || math.IsInf(*req.Value, 0):
		s.fail(w, r, http.StatusBadRequest, "bad_request", "value is required: the corrected value, in the parameter's canonical unit (%s)", standard.CanonicalUnit(req.Parameter))
		return
	case strings.TrimSpace(req.Reason) == "":
		s.fail(w, r, http.StatusBadRequest, "bad_request", "reason is required: a correction is recorded with who made it and why")
		return
	case len(req.Reason) > message.MaxCorrectionReason:
		s.fail(w, r, http.StatusBadRequest, "bad_request", "reason is longer than %d bytes", message.MaxCorrectionReason)
		return
	case req.Flag != "" && !hj212.ValidDataFlag(req.Flag, hj212.V2017):
		s.fail(w, r, http.StatusBadRequest, "bad_request", "flag %q is not an HJ 212 data flag", req.Flag)
		return
	}
	obs := req.ObservedAt.UTC().Truncate(time.Millisecond)
	now := s.now().UTC()
	c := message.Correction{
		Reading: message.Reading{
			ID: message.ReadingID(site.ID, req.Parameter, req.Interval, obs), Site: site.ID, Parameter: req.Parameter,
			Value: *req.Value, Unit: standard.CanonicalUnit(req.Parameter), Interval: req.Interval,
			Flag: message.NormalizeFlag(req.Flag), ObservedAt: obs, ReceivedAt: now, Source: message.SourceCorrection,
		},
		Previous: req.Previous, Reason: strings.TrimSpace(req.Reason), Actor: p.Name, ActorRole: p.Role, At: now,
	}
	c.ID = message.CorrectionID(c.Reading.ID, c.Actor, c.At)
	if err := c.Validate(); err != nil {
		s.fail(w, r, http.StatusBadRequest, "bad_request", "correction: %v", err)
		return
	}
	if err := s.opt.Corrector.Correct(r.Context(), c); err != nil {
		s.metrics.commands.WithLabelValues("correction", "send_failed").Inc()
		s.internalFail(w, r, http.StatusServiceUnavailable, "send_failed", "publish the correction", err)
		return
	}
	s.metrics.commands.WithLabelValues("correction", "accepted").Inc()
	s.log.Info("reading corrected", "correction", c.ID, "reading", c.Reading.ID, "site", site.ID,
		"parameter", req.Parameter, "observed_at", obs, "actor", p.Name, "reason", c.Reason)
	writeJSON(w, http.StatusAccepted, CorrectionResponse{Status: "accepted", CorrectionID: c.ID, ReadingID: c.Reading.ID})
}

// handleCorrections lists the corrections of a site's readings observed in [from, to)
// (default: the last 30 days), the latest first.
func (s *Server) handleCorrections(w http.ResponseWriter, r *http.Request) {
	site, ok := s.siteFor(w, r)
	if !ok {
		return
	}
	from, to, err := s.parseRange(r, 30*24*time.Hour)
	if err != nil {
		s.handleErr(w, r, "corrections", err)
		return
	}
	limit, offset, err := parsePage(r, defaultLimit, maxLimit, maxOffset)
	if err != nil {
		s.handleErr(w, r, "corrections", err)
		return
	}
	cs, err := s.store.Corrections(r.Context(), CorrectionQuery{Site: site.ID, From: from, To: to, Limit: limit + 1, Offset: offset})
	if err != nil {
		s.storeFail(w, r, "corrections of "+site.ID, err)
		return
	}
	writeJSON(w, http.StatusOK, page(cs, limit, offset))
}

// KafkaCorrector publishes corrections to riverwatch.corrections, keyed by site.
type KafkaCorrector struct{ w publisher }

// NewKafkaCorrector returns a Corrector over a writer of the corrections topic.
func NewKafkaCorrector(w publisher) *KafkaCorrector { return &KafkaCorrector{w: w} }

// Correct implements Corrector.
func (k *KafkaCorrector) Correct(ctx context.Context, c message.Correction) error {
	value, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("encode correction %s: %w", c.ID, err)
	}
	if err := k.w.Publish(ctx, kafka.Message{Key: []byte(c.Reading.Site), Value: value}); err != nil {
		return fmt.Errorf("correction %s: %w", c.ID, err)
	}
	return nil
}
