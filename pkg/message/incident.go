package message

import (
	"time"

	"github.com/riverwatch/riverwatch/pkg/silence"
)

// Incident states, in lifecycle order.
const (
	IncidentOpen         = "open"
	IncidentAcknowledged = "acknowledged"
	IncidentResolved     = "resolved"
	IncidentClosed       = "closed"
)

// Incident is the responder's view of one pollution incident (or drill): the playbook it
// follows, who must act and by when. Version grows with every change, so the latest snapshot
// wins in storage.
type Incident struct {
	ID       string `json:"id"`
	Version  uint64 `json:"version"`
	Title    string `json:"title"`
	Status   string `json:"status"`
	Level    string `json:"level"`  // emergency level IV, III, II, I
	Colour   string `json:"colour"` // warning colour: blue, yellow, orange, red
	Playbook string `json:"playbook"`
	// Playbooks lists every playbook whose steps the incident carries, the first being
	// Playbook: an incident that grows (a section exceedance that then threatens an intake)
	// gains the steps of the next playbook.
	Playbooks     []string `json:"playbooks,omitempty"`
	River         string   `json:"river"`
	Site          string   `json:"site"` // the site where it started
	Sites         []string `json:"sites"`
	Parameters    []string `json:"parameters"`
	Jurisdictions []string `json:"jurisdictions"` // every jurisdiction concerned, up- and downstream
	Drill         bool     `json:"drill"`
	EventIDs      []string `json:"event_ids"`
	Steps         []Step   `json:"steps"`
	// Predictions are the current plume windows of the incident's prediction.issued events
	// (one per site, parameter and origin; removed when cleared). Absent when none.
	Predictions []Prediction `json:"predictions,omitempty"`
	OpenedAt    time.Time    `json:"opened_at"`
	// AckedAt and AckedBy are the acknowledgement in force: it expires (both cleared,
	// its record in Acknowledgements) when the incident resolves or re-opens.
	AckedAt *time.Time `json:"acked_at,omitempty"`
	AckedBy string     `json:"acked_by,omitempty"`
	// Acknowledgements lists every acknowledgement of the incident, expired ones with
	// when and why. Absent when there was none.
	Acknowledgements []Acknowledgement `json:"acknowledgements,omitempty"`
	ResolvedAt       *time.Time        `json:"resolved_at,omitempty"`
	ClosedAt         *time.Time        `json:"closed_at,omitempty"`
	UpdatedAt        time.Time         `json:"updated_at"`
	// SilencedBy names the silences that hold the incident's notifications now (pkg/silence):
	// a silenced incident opens and is recorded as any other, but what it would send is
	// held, recorded as inhibited, and sent when no silence holds it any more.
	SilencedBy []string `json:"silenced_by,omitempty"`
	// InhibitedBy says why the incident's water-quality alarms are inhibited now: the
	// station at its sites is offline, their series is suspect, or the verdict is a sensor
	// fault. An inhibited incident's messages are held and recorded as inhibited, as a
	// silenced one's, and the maintenance unit is told instead. Absent when none.
	InhibitedBy []string `json:"inhibited_by,omitempty"`
	// Verdict is the responder's judgement of the incident from the river topology: a
	// sensor fault or a confirmed pollution. Absent until one is made.
	Verdict *Verdict `json:"verdict,omitempty"`
}

// Acknowledgement is one acknowledgement of an incident.
type Acknowledgement struct {
	By string    `json:"by"` // the token name that acknowledged
	At time.Time `json:"at"`
	// Jurisdictions are the acknowledging token's: a re-opening re-notifies the
	// acknowledger through them (docs/escalation.md).
	Jurisdictions []string   `json:"jurisdictions,omitempty"`
	ExpiredAt     *time.Time `json:"expired_at,omitempty"`
	// Expiry is why it expired: resolved or reopened.
	Expiry string `json:"expiry,omitempty"`
}

// Verdict kinds.
const (
	// VerdictSensorFaultLikely: the station jumped while its upstream neighbour did not and
	// its downstream neighbour did not follow after the travel time.
	VerdictSensorFaultLikely = "sensor_fault_likely"
	// VerdictPollutionConfirmed: the downstream site followed at the predicted time.
	VerdictPollutionConfirmed = "pollution_confirmed"
)

// Verdict is a judgement of an incident with what it rests on.
type Verdict struct {
	Kind       string    `json:"kind"`       // VerdictSensorFaultLikely or VerdictPollutionConfirmed
	Confidence float64   `json:"confidence"` // 0..1
	Evidence   []string  `json:"evidence"`   // one line per observation, in words
	At         time.Time `json:"at"`
}

// Step is one action a playbook assigns to a role in a jurisdiction.
type Step struct {
	ID             string    `json:"id"`
	Relation       string    `json:"relation"` // self, upstream, downstream, downstream_to_intake
	Jurisdiction   string    `json:"jurisdiction"`
	Role           string    `json:"role"`
	Action         string    `json:"action"`
	Deadline       time.Time `json:"deadline"`
	ConfirmReceipt bool      `json:"confirm_receipt"`
	// NotifiedAt is when the step's first notification was delivered: receipt and done
	// times minus it are the response times of a drill report.
	NotifiedAt  *time.Time `json:"notified_at,omitempty"`
	ReceiptAt   *time.Time `json:"receipt_at,omitempty"`
	DoneAt      *time.Time `json:"done_at,omitempty"`
	Note        string     `json:"note,omitempty"`
	EscalatedAt *time.Time `json:"escalated_at,omitempty"`
	EscalatedTo string     `json:"escalated_to,omitempty"`
}

// LogEntry is one line of an incident's audit trail.
type LogEntry struct {
	ID         string    `json:"id"`
	IncidentID string    `json:"incident_id"`
	Version    uint64    `json:"version"`
	At         time.Time `json:"at"`
	Actor      string    `json:"actor"`  // "responder", or the name of the token that acted
	Action     string    `json:"action"` // opened, event_added, level_changed, notified, acknowledged, ...
	Detail     string    `json:"detail"`
	// CommandID is the id of the operator command this entry applied (or refused), so the
	// api can tell when its command took effect.
	CommandID string `json:"command_id,omitempty"`
}

// Notification is one delivery attempt of one message to one recipient.
type Notification struct {
	ID         string    `json:"id"`  // per attempt
	Key        string    `json:"key"` // idempotency key: the same message to the same recipient
	IncidentID string    `json:"incident_id"`
	StepID     string    `json:"step_id,omitempty"`
	Kind       string    `json:"kind"`    // assign, warning, escalation, end_of_alert, ...
	Channel    string    `json:"channel"` // webhook, wecom, dingtalk, smtp
	Recipient  string    `json:"recipient"`
	Subject    string    `json:"subject"`
	Body       string    `json:"body"`
	Attempt    int       `json:"attempt"`
	Status     string    `json:"status"` // sent, failed, inhibited (held by a silence: Error says which), released
	Error      string    `json:"error,omitempty"`
	Drill      bool      `json:"drill"`
	At         time.Time `json:"at"`
}

// Kinds of IncidentUpdate.
const (
	UpdateIncident     = "incident"
	UpdateLog          = "log"
	UpdateNotification = "notification"
	// UpdateSilence carries the latest snapshot of a silence (keyed by its id).
	UpdateSilence = "silence"
)

// IncidentUpdate is the envelope on riverwatch.incidents: exactly one of its pointers is set,
// named by Kind. Keyed by incident id, so one incident's history is in order.
type IncidentUpdate struct {
	Kind         string           `json:"kind"`
	Incident     *Incident        `json:"incident,omitempty"`
	Log          *LogEntry        `json:"log,omitempty"`
	Notification *Notification    `json:"notification,omitempty"`
	Silence      *silence.Silence `json:"silence,omitempty"`
}

// Command types sent by the api to the responder.
const (
	CommandAcknowledge    = "acknowledge"
	CommandConfirmReceipt = "confirm_receipt"
	CommandStepDone       = "step_done"
	CommandResolve        = "resolve"
	CommandDrill          = "drill"
	// CommandSilenceCreate carries a new silence (Command.Silence); CommandSilenceExpire
	// ends one now (Command.SilenceID).
	CommandSilenceCreate = "silence_create"
	CommandSilenceExpire = "silence_expire"
)

// Command is an operator's instruction to the responder.
type Command struct {
	ID         string `json:"id"` // chosen by the api; the responder applies each id once
	Type       string `json:"type"`
	IncidentID string `json:"incident_id,omitempty"`
	StepID     string `json:"step_id,omitempty"`
	Actor      string `json:"actor"` // token name
	// ActorRole and ActorJurisdictions are the role and jurisdictions of the token that
	// gave the command, as the api authenticated it: the responder checks them against the
	// incident again (pkg/authz) and refuses a command without them.
	ActorRole          string   `json:"actor_role,omitempty"`
	ActorJurisdictions []string `json:"actor_jurisdictions,omitempty"`
	Note               string   `json:"note,omitempty"`
	// Site is, for a drill, where the synthetic incident starts; for an incident's
	// command, the incident's site, whose basin tells the responder replicas which of
	// them owns the incident (services/responder/internal/responder, generation.go).
	Site      string `json:"site,omitempty"`
	Parameter string `json:"parameter,omitempty"` // drills
	// Silence is the silence a silence_create command creates (its id chosen by the api);
	// SilenceID names the silence a silence_expire command ends.
	Silence   *silence.Silence `json:"silence,omitempty"`
	SilenceID string           `json:"silence_id,omitempty"`
	At        time.Time        `json:"at"`
}
