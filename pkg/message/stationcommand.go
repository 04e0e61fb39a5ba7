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
	// StationSyncClock sets the logger's clock to the gateway's (CN 1012, SystemTime in the
	// stations' local time). Until issue #20 was finished it read the clock instead (now
	// read_clock).
	StationSyncClock = "sync_clock"
	// StationReadClock asks the logger's time (CN 1011); the time it answers and its offset
	// from the gateway's clock are recorded (Report).
	StationReadClock = "read_clock"
	// StationQueryInfo asks the logger for field-machine information (CN 3020, 现场机信息):
	// InfoID of the instrument PolID (or of the logger itself); what it answers is recorded
	// (Report.Info).
	StationQueryInfo = "query_info"
	// StationRotateKey sends the station its next SM4 key (CN 1014) from sites.yaml
	// (station.sm4_next_key), never from the request; the gateway switches to it once the
	// logger has executed it.
	StationRotateKey = "rotate_key"
)

// StationCommands lists the station commands.
var StationCommands = []string{StationRaiseFrequency, StationRestoreFrequency, StationRetainSample, StationSyncClock,
	StationReadClock, StationQueryInfo, StationRotateKey}

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
	// PolID and InfoID are what query_info asks (CN 3020 PolId, InfoId): InfoID is
	// required (i and 5 digits), PolID "" asks the logger itself.
	PolID  string `json:"pol_id,omitempty"`
	InfoID string `json:"info_id,omitempty"`
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
	// Report is what the station reported under the command's QN (its clock for
	// read_clock, its information for query_info, the bottle for retain_sample), on the
	// record that ends the command.
	Report *StationReport `json:"report,omitempty"`
}

// StationReport is what a station sent back for a command besides 9011 and 9012.
type StationReport struct {
	// SystemTime is the logger's clock (1011), ClockOffsetS how far it was ahead of the
	// gateway's clock when the answer arrived (negative: behind), in seconds.
	SystemTime   *time.Time `json:"system_time,omitempty"`
	ClockOffsetS *float64   `json:"clock_offset_s,omitempty"`
	// DataTime is the time the station gave its report (3015, 3020); VaseNo the bottle of
	// a retained sample (3015).
	DataTime *time.Time `json:"data_time,omitempty"`
	VaseNo   string     `json:"vase_no,omitempty"`
	// Info are the field-machine information values of a 3020 upload, in the order sent.
	Info []StationInfo `json:"info,omitempty"`
	// Unread says why a report could not be read (it is then otherwise empty).
	Unread string `json:"unread,omitempty"`
}

// StationInfo is one field-machine information value (3020: <InfoId>-Info=<Value> of the
// instrument PolId; PolID "" for the logger itself).
type StationInfo struct {
	PolID  string `json:"pol_id,omitempty"`
	InfoID string `json:"info_id"`
	Value  string `json:"value"`
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
	c.QN, c.QnRtn, c.ExeRtn, c.Attempts, c.Detail, c.Report = "", "", "", 0, "", nil
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
	if c.Command == StationQueryInfo {
		if !validInfoID(c.InfoID) {
			errs = append(errs, fmt.Errorf("query_info needs info_id, i and 5 digits (i12001), not %q", c.InfoID))
		}
		if c.PolID != "" && !validPolID(c.PolID) {
			errs = append(errs, fmt.Errorf("pol_id %q is not a pollutant code (1–8 letters and digits)", c.PolID))
		}
	} else if c.PolID != "" || c.InfoID != "" {
		errs = append(errs, fmt.Errorf("pol_id and info_id belong to query_info, not %s", c.Command))
	}
	if c.Command != StationRaiseFrequency && c.Command != StationRestoreFrequency && (c.RtdInterval != 0 || c.MinInterval != 0) {
		errs = append(errs, fmt.Errorf("rtd_interval_s and min_interval_min belong to raise_frequency and restore_frequency, not %s", c.Command))
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

// validInfoID: "i" and five digits (HJ 212 information codes, i11001 …).
func validInfoID(s string) bool {
	if len(s) != 6 || s[0] != 'i' {
		return false
	}
	for _, c := range s[1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// validPolID: 1–8 letters and digits, as HJ 212 item codes are.
func validPolID(s string) bool {
	if len(s) == 0 || len(s) > 8 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
