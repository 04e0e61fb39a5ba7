package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/riverwatch/riverwatch/pkg/authz"
	"github.com/riverwatch/riverwatch/pkg/message"
)

// StationCommander publishes a station command request; it returns once the request is
// durable (Kafka acknowledged it). The gateways send it and record what became of it.
type StationCommander interface {
	RequestStationCommand(ctx context.Context, c message.StationCommand) error
}

// StationCommandRequest is the body of POST /api/v1/sites/{id}/commands.
type StationCommandRequest struct {
	// Command is raise_frequency, restore_frequency, retain_sample, sync_clock (1012: set
	// the logger's clock to the gateway's), read_clock (1011), query_info (3020) or
	// rotate_key (1014: the key is sites.yaml's station.sm4_next_key; a request never
	// carries key material).
	Command string `json:"command"`
	// RtdIntervalS (seconds, CN 1062) or MinIntervalMin (minutes, CN 1064): exactly one,
	// for raise_frequency and restore_frequency.
	RtdIntervalS   int `json:"rtd_interval_s,omitempty"`
	MinIntervalMin int `json:"min_interval_min,omitempty"`
	// PolID and InfoID are what query_info asks (3020 PolId, InfoId; InfoID required).
	// Pointers: an empty string is not an absent one (the document's patterns refuse it).
	PolID    *string `json:"pol_id,omitempty"`
	InfoID   *string `json:"info_id,omitempty"`
	Reason   string  `json:"reason"`
	Incident string  `json:"incident,omitempty"`
	// TTLS is how long the command may wait for the station to connect (default 3600 s).
	TTLS int `json:"ttl_s,omitempty"`
}

// StationCommandResponse answers an accepted request.
type StationCommandResponse struct {
	Status    string `json:"status"` // accepted
	CommandID string `json:"command_id"`
}

// StationCommandView is one station command with every record of it: the request, then
// what each gateway recorded, in order. Status is the latest final record's status, else
// the latest record's.
type StationCommandView struct {
	message.StationCommand
	Records []message.StationCommand `json:"records"`
}

// DefaultStationCommandTTL is the TTL of a request that names none.
const DefaultStationCommandTTL = time.Hour

// handleStationCommand requests a host command of the site's station: a responder or an
// admin of the site's jurisdiction, with a reason; the request is recorded in full.
func (s *Server) handleStationCommand(w http.ResponseWriter, r *http.Request) {
	site, ok := s.siteFor(w, r)
	if !ok {
		return
	}
	p := principal(r)
	if err := authz.StationCommand(authz.FromPrincipal(p), site.Jurisdiction); err != nil {
		s.refuse(w, r, err)
		return
	}
	if s.opt.StationCommander == nil {
		s.fail(w, r, http.StatusServiceUnavailable, "unavailable", "station commands are not configured on this api")
		return
	}
	var req StationCommandRequest
	if err := decodeBody(r, &req); err != nil {
		s.handleErr(w, r, "station command", err)
		return
	}
	// The ranges of the document (openapi.json): an HJ 212 interval field holds at most
	// four digits of seconds, the minute interval at most an hour, the wait at most a week.
	switch {
	case req.RtdIntervalS < 0 || req.RtdIntervalS > 9999:
		s.fail(w, r, http.StatusBadRequest, "bad_request", "rtd_interval_s %d: want 1–9999 seconds", req.RtdIntervalS)
		return
	case req.MinIntervalMin < 0 || req.MinIntervalMin > 60:
		s.fail(w, r, http.StatusBadRequest, "bad_request", "min_interval_min %d: want 1–60 minutes", req.MinIntervalMin)
		return
	case req.TTLS < 0 || req.TTLS > 604800:
		s.fail(w, r, http.StatusBadRequest, "bad_request", "ttl_s %d: want 0 (the default) to 604800 seconds", req.TTLS)
		return
	case req.PolID != nil && *req.PolID == "", req.InfoID != nil && *req.InfoID == "":
		s.fail(w, r, http.StatusBadRequest, "bad_request", "pol_id and info_id may not be empty: leave them out")
		return
	}
	if site.Station == nil {
		s.fail(w, r, http.StatusConflict, "no_station", "site %s has no HJ 212 station to command", site.ID)
		return
	}
	ttl := req.TTLS
	if ttl == 0 {
		ttl = int(DefaultStationCommandTTL / time.Second)
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	c := message.StationCommand{Site: site.ID, MN: site.Station.MN, Command: req.Command, RtdInterval: req.RtdIntervalS,
		MinInterval: req.MinIntervalMin, PolID: deref(req.PolID), InfoID: deref(req.InfoID), RequestedBy: p.Name, RequestedRole: p.Role, Reason: strings.TrimSpace(req.Reason),
		Incident: req.Incident, TTLSeconds: ttl, At: now, Status: message.StationRequested}
	c.ID = message.StationCommandID(c.Site, c.Command, c.RequestedBy, now)
	if err := c.Validate(); err != nil {
		s.fail(w, r, http.StatusBadRequest, "bad_request", "station command: %v", err)
		return
	}
	if err := s.opt.StationCommander.RequestStationCommand(r.Context(), c); err != nil {
		s.metrics.commands.WithLabelValues("station_command", "send_failed").Inc()
		s.internalFail(w, r, http.StatusServiceUnavailable, "send_failed", "publish the station command", err)
		return
	}
	s.metrics.commands.WithLabelValues("station_command", "accepted").Inc()
	s.log.Info("station command requested", "command_id", c.ID, "site", site.ID, "command", c.Command, "actor", p.Name, "reason", c.Reason)
	writeJSON(w, http.StatusAccepted, StationCommandResponse{Status: "accepted", CommandID: c.ID})
}

// maxStationCommandRecords bounds the records one listing reads.
const maxStationCommandRecords = 10000

// handleStationCommands lists a site's station commands requested in [from, to)
// (default: the last 30 days), the latest first, each with its records.
func (s *Server) handleStationCommands(w http.ResponseWriter, r *http.Request) {
	site, ok := s.siteFor(w, r)
	if !ok {
		return
	}
	from, to, err := s.parseRange(r, 30*24*time.Hour)
	if err != nil {
		s.handleErr(w, r, "station commands", err)
		return
	}
	if r.URL.Query().Get("to") == "" {
		to = to.Add(time.Second) // the end is exclusive: include what was requested this instant
	}
	limit, offset, err := parsePage(r, defaultLimit, maxLimit, maxOffset)
	if err != nil {
		s.handleErr(w, r, "station commands", err)
		return
	}
	recs, err := s.store.StationCommands(r.Context(), StationCommandQuery{Site: site.ID, From: from, To: to, Limit: maxStationCommandRecords})
	if err != nil {
		s.storeFail(w, r, "station commands of "+site.ID, err)
		return
	}
	views := StationCommandViews(recs)
	views = views[min(offset, len(views)):]
	writeJSON(w, http.StatusOK, page(views, limit, offset))
}

// StationCommandViews groups records (as Store.StationCommands returns them: by command,
// each command's records in order) into one view per command.
func StationCommandViews(recs []message.StationCommand) []StationCommandView {
	var out []StationCommandView
	for _, rec := range recs {
		if n := len(out); n == 0 || out[n-1].ID != rec.ID {
			out = append(out, StationCommandView{StationCommand: rec})
		}
		v := &out[len(out)-1]
		v.Records = append(v.Records, rec)
		if rec.Status == message.StationRequested {
			continue
		}
		if cur := v.StationCommand; cur.Status == message.StationRequested || !cur.Final() || rec.Final() {
			v.Status, v.StatusAt, v.Gateway, v.QN, v.QnRtn, v.ExeRtn, v.Attempts, v.Detail, v.Report =
				rec.Status, rec.StatusAt, rec.Gateway, rec.QN, rec.QnRtn, rec.ExeRtn, rec.Attempts, rec.Detail, rec.Report
		}
	}
	return out
}

// KafkaStationCommander publishes station command requests to
// riverwatch.station-commands, keyed by site.
type KafkaStationCommander struct{ w publisher }

// NewKafkaStationCommander returns a StationCommander over a writer of the topic.
func NewKafkaStationCommander(w publisher) *KafkaStationCommander {
	return &KafkaStationCommander{w: w}
}

// RequestStationCommand implements StationCommander.
func (k *KafkaStationCommander) RequestStationCommand(ctx context.Context, c message.StationCommand) error {
	value, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("encode station command %s: %w", c.ID, err)
	}
	if err := k.w.Publish(ctx, kafka.Message{Key: []byte(c.Site), Value: value}); err != nil {
		return fmt.Errorf("station command %s: %w", c.ID, err)
	}
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
