package incident

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/network"
	"github.com/riverwatch/riverwatch/pkg/notify"
	"github.com/riverwatch/riverwatch/pkg/silence"
	"github.com/riverwatch/riverwatch/services/responder/internal/playbook"
)

// Clock tells the engine the time; tests inject a fake one.
type Clock interface{ Now() time.Time }

// SystemClock is the wall clock.
type SystemClock struct{}

// Now returns time.Now in UTC.
func (SystemClock) Now() time.Time { return time.Now().UTC() }

// Config tunes the engine.
type Config struct {
	// GroupWindow: an event joins an incident whose latest event is at most this far from
	// it in event time.
	GroupWindow time.Duration
	// TimeScale divides every playbook duration (deadlines, escalation delays, resolve hold,
	// close_after): 60 makes an hour last a minute. 0 or 1 is real time.
	TimeScale float64
	// MaxEventAge: an event emitted longer ago than this does not open an incident (a new
	// consumer group replaying an old topic must not page anyone), and a command older than
	// this is not applied. 0 disables the check.
	MaxEventAge time.Duration
	// Retain keeps a closed incident in memory (and in the state topic) this long, so that
	// replayed events are still recognised; then it is dropped.
	Retain time.Duration
	// MaxAttempts bounds the delivery attempts of one notification.
	MaxAttempts int
	// RetryBase and RetryMax shape the backoff between attempts (doubling, capped).
	RetryBase time.Duration
	RetryMax  time.Duration
}

func (c Config) withDefaults() Config {
	if c.GroupWindow <= 0 {
		c.GroupWindow = 6 * time.Hour
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 8
	}
	if c.RetryBase <= 0 {
		c.RetryBase = 2 * time.Second
	}
	if c.RetryMax <= 0 {
		c.RetryMax = 5 * time.Minute
	}
	return c
}

// Incident categories: water-quality incidents and maintenance work never mix.
const (
	CategoryWaterQuality = "water_quality"
	CategoryMaintenance  = "maintenance"
)

// Notification kinds the engine adds to the playbook's step kinds.
const (
	KindEscalation = "escalation"
	// KindReminder re-sends a step to its own actor (escalation_policy repeat).
	KindReminder = "reminder"
	// KindReacknowledge tells whoever acknowledged a re-opened incident that the
	// acknowledgement has expired.
	KindReacknowledge = "reacknowledge"
	KindUpdate        = "update"
	// KindFollowUp is the follow-up report (续报) every grouping.repeat.
	KindFollowUp     = "follow_up"
	KindReopened     = "reopened"
	KindEndOfAlert   = "end_of_alert"
	statusPending    = "pending"
	statusSending    = "sending"
	statusSent       = "sent"
	statusFailed     = "failed"
	statusInterrupt  = "interrupted"
	actorResponder   = "responder"
	drillPrefix      = "【演练】"
	defaultDrillParm = "nh3n"
)

// State is everything the responder knows about one incident: the published Incident plus
// what it needs to go on after a restart (active conditions, escalation progress, the
// notification outbox with each key's delivery state). It is what the state topic stores,
// keyed by incident id.
type State struct {
	Incident    message.Incident      `json:"incident"`
	Category    string                `json:"category"`
	Group       string                `json:"group"`
	Active      map[string]bool       `json:"active,omitempty"`
	Facts       []Fact                `json:"facts"`
	LastEventAt time.Time             `json:"last_event_at"`
	RecoveredAt *time.Time            `json:"recovered_at,omitempty"`
	Steps       map[string]*StepState `json:"steps"`
	Outbox      []*Outgoing           `json:"outbox"`
	Commands    []string              `json:"commands,omitempty"`
	Skipped     []string              `json:"skipped,omitempty"`
	LogSeq      uint64                `json:"log_seq"`
	Round       int                   `json:"round"`
	// Raised are the stations whose reporting frequency a step raised: the resolve restores
	// them.
	Raised []Raised `json:"raised,omitempty"`
	// FollowUps counts the follow-up reports (续报) sent, the last at LastFollowUpAt.
	FollowUps      int        `json:"follow_ups,omitempty"`
	LastFollowUpAt *time.Time `json:"last_follow_up_at,omitempty"`
}

// Raised is one station whose real-time interval a playbook step raised.
type Raised struct {
	Site    string `json:"site"`
	MN      string `json:"mn"`
	StepID  string `json:"step_id"`
	Restore int    `json:"restore_s"` // the interval to restore, in seconds
}

// Fact is what the engine keeps of one event.
type Fact struct {
	EventID   string    `json:"event_id"`
	Type      string    `json:"type"`
	Site      string    `json:"site"`
	SiteKind  string    `json:"site_kind"`
	Parameter string    `json:"parameter,omitempty"`
	Value     float64   `json:"value"`
	Limit     float64   `json:"limit"`
	Multiple  float64   `json:"multiple"`
	Severity  string    `json:"severity,omitempty"`
	Reason    string    `json:"reason,omitempty"`
	Origin    string    `json:"origin_site,omitempty"`
	Arrival   time.Time `json:"arrival,omitempty"`
	// Prediction is a prediction.issued's window (absent in state written before it).
	Prediction message.Prediction `json:"prediction,omitzero"`
	At         time.Time          `json:"at"`
	Playbook   string             `json:"playbook,omitempty"` // the playbook this event matched
	// Sources is the upstream ranking of an exceedance, for {sources} (nil: not ranked).
	Sources *Sources `json:"sources,omitempty"`
}

// StepState is the engine's bookkeeping of one step.
type StepState struct {
	Playbook string    `json:"playbook"`
	Def      string    `json:"def"`
	Site     string    `json:"site"` // the site the step's relation was resolved from
	Created  time.Time `json:"created"`
	Fired    []bool    `json:"fired"` // per escalation rule: settled (fired or moot)
	// Round counts the re-armings of the step's escalation (a re-opened incident's
	// acknowledgements expire and its escalation runs again); it keeps the new round's
	// messages apart from the earlier ones' idempotency keys.
	Round int `json:"round,omitempty"`
}

// Outgoing is one notification to one contact, with its delivery state. Its Key is the
// idempotency key: stable across attempts and restarts.
type Outgoing struct {
	Key          string `json:"key"`
	StepID       string `json:"step_id,omitempty"`
	Kind         string `json:"kind"`
	Jurisdiction string `json:"jurisdiction"`
	Role         string `json:"role"`
	Name         string `json:"name"`
	Channel      string `json:"channel"`
	// Target is the contact's address, in memory only: a robot's URL is its credential and
	// must not reach the state topic. The responder looks it up by the contact key
	// (Jurisdiction, Role, Name, Channel) at delivery (H2).
	Target    string     `json:"-"`
	Subject   string     `json:"subject"`
	Body      string     `json:"body"`
	Status    string     `json:"status"` // pending, sending, sent, failed; held (by a silence), inhibited (held until its incident resolved)
	Attempts  int        `json:"attempts"`
	NextAt    time.Time  `json:"next_at"`
	SentAt    *time.Time `json:"sent_at,omitempty"`
	LastError string     `json:"last_error,omitempty"`
}

// Changes is what one engine call changed: updates to publish on riverwatch.incidents, in
// order, the incidents whose state must be written to the state topic, and the incidents
// dropped from it (tombstones).
type Changes struct {
	Updates []message.IncidentUpdate
	Dirty   []string
	Removed []string
	// StationCommands are the playbooks' host commands to publish on
	// riverwatch.station-commands.
	StationCommands []message.StationCommand
}

// Merge appends o to c.
func (c *Changes) Merge(o Changes) {
	c.Updates = append(c.Updates, o.Updates...)
	for _, id := range o.Dirty {
		if !slices.Contains(c.Dirty, id) {
			c.Dirty = append(c.Dirty, id)
		}
	}
	c.Removed = append(c.Removed, o.Removed...)
	c.StationCommands = append(c.StationCommands, o.StationCommands...)
}

// Empty reports whether nothing changed.
func (c *Changes) Empty() bool {
	return len(c.Updates) == 0 && len(c.Dirty) == 0 && len(c.Removed) == 0 && len(c.StationCommands) == 0
}

// Engine is the incident state machine. It is not safe for concurrent use: the responder
// serialises calls.
type Engine struct {
	cfg       Config
	clock     Clock
	net       *network.Network
	books     *playbook.Set
	contacts  *notify.Contacts
	incidents map[string]*State
	byEvent   map[string]string
	silences  map[string]*SilenceState
	// sources is the ranking of the event HandleEventWithSources is handling.
	sources *Sources
}

// New returns an empty engine.
func New(cfg Config, clock Clock, net *network.Network, books *playbook.Set, contacts *notify.Contacts) *Engine {
	if clock == nil {
		clock = SystemClock{}
	}
	return &Engine{
		cfg: cfg.withDefaults(), clock: clock, net: net, books: books, contacts: contacts,
		incidents: map[string]*State{}, byEvent: map[string]string{}, silences: map[string]*SilenceState{},
	}
}

// Restore loads incident states read back from the state topic. A notification that was
// being delivered when the responder stopped is recorded as interrupted and queued again
// with the same idempotency key.
func (e *Engine) Restore(states []*State) Changes {
	t := e.begin()
	for _, st := range states {
		if st.Active == nil {
			st.Active = map[string]bool{}
		}
		if st.Steps == nil {
			st.Steps = map[string]*StepState{}
		}
		e.incidents[st.Incident.ID] = st
		for _, id := range st.Incident.EventIDs {
			e.byEvent[id] = st.Incident.ID
		}
		for _, o := range st.Outbox {
			if o.Status != statusSending {
				continue
			}
			t.record(st, o, statusInterrupt, "the responder stopped during this delivery; re-delivered with the same idempotency key")
			o.Status = statusPending
			o.NextAt = t.now
			t.dirty(st)
		}
	}
	return t.finish()
}

// Marshal encodes an incident's state (or, for a SilenceKey, a silence's) for the state
// topic.
func (e *Engine) Marshal(id string) ([]byte, bool, error) {
	if sid, ok := strings.CutPrefix(id, SilenceKeyPrefix); ok {
		ss, ok := e.silences[sid]
		if !ok {
			return nil, false, nil
		}
		b, err := json.Marshal(ss)
		if err != nil {
			return nil, true, fmt.Errorf("encode silence %s: %w", sid, err)
		}
		return b, true, nil
	}
	st, ok := e.incidents[id]
	if !ok {
		return nil, false, nil
	}
	b, err := json.Marshal(st)
	if err != nil {
		return nil, true, fmt.Errorf("encode incident %s: %w", id, err)
	}
	return b, true, nil
}

// Unmarshal decodes a state-topic value.
func Unmarshal(b []byte) (*State, error) {
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("decode incident state: %w", err)
	}
	if st.Incident.ID == "" {
		return nil, fmt.Errorf("decode incident state: no incident id")
	}
	return &st, nil
}

// Get returns a copy of an incident.
func (e *Engine) Get(id string) (message.Incident, bool) {
	st, ok := e.incidents[id]
	if !ok {
		return message.Incident{}, false
	}
	return clone(st.Incident), true
}

// State returns an incident's full state (for tests and diagnostics; do not modify).
func (e *Engine) State(id string) (*State, bool) {
	st, ok := e.incidents[id]
	return st, ok
}

// IncidentOf returns the incident an event was added to.
func (e *Engine) IncidentOf(eventID string) (string, bool) {
	id, ok := e.byEvent[eventID]
	return id, ok
}

// List returns copies of every incident held, newest first.
func (e *Engine) List() []message.Incident {
	out := make([]message.Incident, 0, len(e.incidents))
	for _, st := range e.incidents {
		out = append(out, clone(st.Incident))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].OpenedAt.After(out[j].OpenedAt) })
	return out
}

// Counts returns how many incidents are in each status.
func (e *Engine) Counts() map[string]int {
	m := map[string]int{}
	for _, st := range e.incidents {
		m[st.Incident.Status]++
	}
	return m
}

// sorted returns the incidents in id order, so that every pass is deterministic.
func (e *Engine) sorted() []*State {
	out := make([]*State, 0, len(e.incidents))
	for _, st := range e.incidents {
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Incident.ID < out[j].Incident.ID })
	return out
}

func (e *Engine) scale(d time.Duration) time.Duration {
	if e.cfg.TimeScale <= 0 || e.cfg.TimeScale == 1 {
		return d
	}
	return time.Duration(float64(d) / e.cfg.TimeScale)
}

// hashID is message's deterministic id scheme: sha256 over the parts, 32 hex digits.
func hashID(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// clone copies an incident deeply enough that later changes do not show through: slices are
// copied, and time pointers are never written through (the engine replaces them).
func clone(in message.Incident) message.Incident {
	out := in
	out.Playbooks = slices.Clone(in.Playbooks)
	out.Sites = slices.Clone(in.Sites)
	out.Parameters = slices.Clone(in.Parameters)
	out.Jurisdictions = slices.Clone(in.Jurisdictions)
	out.EventIDs = slices.Clone(in.EventIDs)
	out.Steps = slices.Clone(in.Steps)
	out.SilencedBy = slices.Clone(in.SilencedBy)
	out.InhibitedBy = slices.Clone(in.InhibitedBy)
	out.Acknowledgements = slices.Clone(in.Acknowledgements)
	if in.Verdict != nil {
		v := *in.Verdict
		v.Evidence = slices.Clone(in.Verdict.Evidence)
		out.Verdict = &v
	}
	return out
}

// tx collects the effects of one engine call.
type tx struct {
	e       *Engine
	now     time.Time
	touched []*State
	dirtied []*State
	logs    map[*State][]message.LogEntry
	extra   []message.IncidentUpdate
	removed []string
	// silTouched are the silences changed (a new version each), silLogs their audit trail.
	silTouched []*silence.Silence
	silLogs    map[*silence.Silence][]message.LogEntry
	stations   []message.StationCommand
}

func (e *Engine) begin() *tx {
	return &tx{e: e, now: e.clock.Now().UTC(), logs: map[*State][]message.LogEntry{}, silLogs: map[*silence.Silence][]message.LogEntry{}}
}

// touch marks a change of the published incident (a new version).
func (t *tx) touch(st *State) {
	if !slices.Contains(t.touched, st) {
		t.touched = append(t.touched, st)
	}
}

// dirty marks a change of state only (the outbox), persisted without a new version.
func (t *tx) dirty(st *State) {
	if !slices.Contains(t.dirtied, st) {
		t.dirtied = append(t.dirtied, st)
	}
}

func (t *tx) log(st *State, action, actor, detail, commandID string) {
	t.touch(st)
	st.LogSeq++
	t.logs[st] = append(t.logs[st], message.LogEntry{
		ID: hashID(st.Incident.ID, "log", fmt.Sprint(st.LogSeq)), IncidentID: st.Incident.ID,
		At: t.now, Actor: actor, Action: action, Detail: detail, CommandID: commandID,
	})
}

// record publishes one delivery attempt of o.
func (t *tx) record(st *State, o *Outgoing, status, errText string) {
	t.extra = append(t.extra, message.IncidentUpdate{Kind: message.UpdateNotification, Notification: &message.Notification{
		ID: hashID(o.Key, fmt.Sprint(o.Attempts), status), Key: o.Key, IncidentID: st.Incident.ID, StepID: o.StepID,
		Kind: o.Kind, Channel: o.Channel, Recipient: o.Jurisdiction + "/" + o.Role + "/" + o.Name,
		Subject: o.Subject, Body: o.Body, Attempt: o.Attempts, Status: status, Error: errText,
		Drill: st.Incident.Drill, At: t.now,
	}})
}

func (t *tx) finish() Changes {
	// Every call ends with the silences applied: what it queued is held if a silence holds
	// its incident, and what a silence held is released once none does.
	t.e.applySilences(t)
	var c Changes
	for _, s := range t.silTouched {
		s.Version++
		s.UpdatedAt = t.now
		snap := cloneSilence(s)
		c.Updates = append(c.Updates, message.IncidentUpdate{Kind: message.UpdateSilence, Silence: &snap})
		for i := range t.silLogs[s] {
			l := t.silLogs[s][i]
			l.Version = s.Version
			c.Updates = append(c.Updates, message.IncidentUpdate{Kind: message.UpdateLog, Log: &l})
		}
		c.Dirty = append(c.Dirty, SilenceKey(s.ID))
	}
	for _, st := range t.touched {
		st.Incident.Version++
		st.Incident.UpdatedAt = t.now
		inc := clone(st.Incident)
		c.Updates = append(c.Updates, message.IncidentUpdate{Kind: message.UpdateIncident, Incident: &inc})
		for i := range t.logs[st] {
			l := t.logs[st][i]
			l.Version = st.Incident.Version
			c.Updates = append(c.Updates, message.IncidentUpdate{Kind: message.UpdateLog, Log: &l})
		}
		c.Dirty = append(c.Dirty, st.Incident.ID)
	}
	for _, st := range t.dirtied {
		if !slices.Contains(c.Dirty, st.Incident.ID) {
			c.Dirty = append(c.Dirty, st.Incident.ID)
		}
	}
	c.Updates = append(c.Updates, t.extra...)
	c.Removed = t.removed
	c.StationCommands = t.stations
	return c
}
