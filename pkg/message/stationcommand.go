package message

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Station commands (StationCommand.Command): what a host may ask of a station's data logger
// over its HJ 212 connection (docs/protocol.md, Host commands).
const (
	// StationRaiseFrequency sets the real-time interval (CN 1062) to RtdInterval seconds,
	// or the minute interval (CN 1064) to MinInterval minutes: 加密监测.
	StationRaiseFrequency = "raise_frequency"
	// StationRestoreFrequency sets the intervals back (the same CNs) to the values given,
	// the station's usual ones.
	StationRestoreFrequency = "restore_frequency"
	// StationRetainSample has the sampler retain a sample (CN 3015): 超标留样.
	StationRetainSample = "retain_sample"
	// StationSyncClock asks the logger's time (CN 1011), so that its drift is recorded.
	StationSyncClock = "sync_clock"
)

// StationCommands lists the station commands.
var StationCommands = []string{StationRaiseFrequency, StationRestoreFrequency, StationRetainSample, StationSyncClock}

// Statuses of a station command: the request, then what the gateways recorded of it.
// Sent and acknowledged are steps; the others end the command.
const (
	StationRequested    = "requested"     // the api's or the responder's request
	StationSent         = "sent"          // written to the station's connection
	StationAcknowledged = "acknowledged"  // 9011 QnRtn=1: the logger will execute it
	StationExecuted     = "executed"      // 9012 ExeRtn=1
	StationFailed       = "failed"        // 9012 with another ExeRtn
	StationRefused      = "refused"       // 9011 with another QnRtn, or a request the gateway cannot send
	StationTimedOut     = "timed_out"     // no 9011 after the resends, no 9012 in time, or the connection closed
	StationExpired      = "expired"       // the station did not connect within the TTL
	StationNotConnected = "not_connected" // (per gateway replica) the station is not connected here
)

// MaxStationCommandTTL bounds how long a command may wait for its station.
const MaxStationCommandTTL = 7 * 24 * time.Hour

// StationCommand is one record of riverwatch.station-commands: a request (Status
// requested) or a gateway's record of what became of it (every other status), under the
// same ID. The archiver stores every record in station_commands: the audit of who asked
// what of which station, why, and what the station answered.
type StationCommand struct {
	ID      string `json:"id"`
	Site    string `json:"site"`
	MN      string `json:"mn"`
	Command string `json:"command"`
	// RtdInterval (seconds, CN 1062) or MinInterval (minutes, CN 1064) is the interval of
	// raise_frequency and restore_frequency: exactly one of them (one HJ 212 command).
	RtdInterval int `json:"rtd_interval_s,omitempty"`
	MinInterval int `json:"min_interval_min,omitempty"`
	// RequestedBy and RequestedRole are the api-authenticated caller, or "responder" and a
	// playbook's step.
	RequestedBy   string `json:"requested_by"`
	RequestedRole string `json:"requested_role,omitempty"`
	Reason        string `json:"reason"`
	Incident      string `json:"incident,omitempty"`
	// TTLSeconds is how long after At the command may wait for its station to connect.
	TTLSeconds int       `json:"ttl_s"`
	At         time.Time `json:"at"` // when requested
	// Status and what came with it; StatusAt is when the gateway recorded it.
	Status   string    `json:"status"`
	StatusAt time.Time `json:"status_at"`
	Gateway  string    `json:"gateway,omitempty"` // the gateway replica that recorded it
	QN       string    `json:"qn,omitempty"`
	QnRtn    string    `json:"qn_rtn,omitempty"`
	ExeRtn   string    `json:"exe_rtn,omitempty"`
	Attempts int       `json:"attempts,omitempty"`
	Detail   string    `json:"detail,omitempty"`
}

// StationCommandID is the deterministic id of a request: one requester asking one command
// of one site at one instant (a replayed request keeps it).
func StationCommandID(site, command, requestedBy string, at time.Time) string {
	return hashID("station-command", site, command, requestedBy, strconv.FormatInt(at.UnixMilli(), 10))
}

// TTL returns the command's TTL.
func (c *StationCommand) TTL() time.Duration { return time.Duration(c.TTLSeconds) * time.Second }

// Final reports whether the status ends the command.
func (c *StationCommand) Final() bool {
	switch c.Status {
	case StationRequested, StationSent, StationAcknowledged, StationNotConnected:
		return false
	}
	return true
}

// Outcome returns the record of a new status of c, recorded by gateway at now.
func (c StationCommand) Outcome(status, gateway string, now time.Time) StationCommand {
	c.Status, c.Gateway, c.StatusAt = status, gateway, now
	c.QN, c.QnRtn, c.ExeRtn, c.Attempts, c.Detail = "", "", "", 0, ""
	return c
}

// Validate refuses a record without what the audit needs or what the gateway can send.
func (c *StationCommand) Validate() error {
	var errs []error
	if c.ID == "" || c.Site == "" || c.MN == "" {
		errs = append(errs, errors.New("id, site and mn are required"))
	}
	if !slices.Contains(StationCommands, c.Command) {
		errs = append(errs, fmt.Errorf("command %q is not one of %s", c.Command, strings.Join(StationCommands, ", ")))
	}
	if c.Command == StationRaiseFrequency || c.Command == StationRestoreFrequency {
		if (c.RtdInterval == 0) == (c.MinInterval == 0) {
			errs = append(errs, fmt.Errorf("%s needs one of rtd_interval_s and min_interval_min (one HJ 212 command each)", c.Command))
		}
		if c.RtdInterval < 0 || c.RtdInterval > 9999 {
			errs = append(errs, errors.New("rtd_interval_s is not 1–9999 seconds"))
		}
		if c.MinInterval < 0 || c.MinInterval > 60 {
			errs = append(errs, errors.New("min_interval_min is not 1–60 minutes"))
		}
	}
	if strings.TrimSpace(c.RequestedBy) == "" || strings.TrimSpace(c.Reason) == "" {
		errs = append(errs, errors.New("requested_by and reason are required"))
	}
	if len(c.Reason) > MaxCorrectionReason {
		errs = append(errs, fmt.Errorf("reason is longer than %d bytes", MaxCorrectionReason))
	}
	if c.TTLSeconds <= 0 || c.TTL() > MaxStationCommandTTL {
		errs = append(errs, fmt.Errorf("ttl_s is not 1 s – %s", MaxStationCommandTTL))
	}
	if c.At.IsZero() {
		errs = append(errs, errors.New("at is required"))
	}
	switch c.Status {
	case StationRequested:
	case StationSent, StationAcknowledged, StationExecuted, StationFailed, StationRefused, StationTimedOut,
		StationExpired, StationNotConnected:
		if c.Gateway == "" || c.StatusAt.IsZero() {
			errs = append(errs, errors.New("an outcome needs gateway and status_at"))
		}
	default:
		errs = append(errs, fmt.Errorf("status %q is unknown", c.Status))
	}
	return errors.Join(errs...)
}
