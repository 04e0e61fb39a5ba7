package playbook

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/network"
	"github.com/riverwatch/riverwatch/pkg/notify"
	"gopkg.in/yaml.v3"
)

// Relations of a step's actor to the site of the event.
const (
	RelSelf               = "self"
	RelUpstream           = "upstream"
	RelUpstreamNext       = "upstream_next"
	RelDownstream         = "downstream"
	RelDownstreamNext     = "downstream_next"
	RelDownstreamToIntake = "downstream_to_intake"
	RelIntake             = "intake"
	// RelStep, only in an escalation's target, means the jurisdiction of the step that is
	// escalated: escalation climbs that jurisdiction's own chain.
	RelStep = "step"
)

var relations = []string{RelSelf, RelUpstream, RelUpstreamNext, RelDownstream, RelDownstreamNext, RelDownstreamToIntake, RelIntake}

// Notification kinds a step can send.
const (
	KindAssign  = "assign"  // an order to act (任务)
	KindWarning = "warning" // a warning to a downstream party (预警), AEWS "warning"
	KindSearch  = "search"  // a search report routed upstream (溯源排查), IWAP "Suchmeldung"
	KindInfo    = "info"    // information only
)

var stepKinds = []string{KindAssign, KindWarning, KindSearch, KindInfo}

// Escalation conditions (Opsgenie if-not-acked / if-not-closed).
const (
	IfNotAcknowledged = "not_acknowledged"
	IfNotDone         = "not_done"
)

// Emergency levels from the least to the most serious (国家突发环境事件应急预案).
var Levels = []string{"IV", "III", "II", "I"}

// DefaultColour is the warning colour that goes with each level (蓝/黄/橙/红).
var DefaultColour = map[string]string{"IV": "blue", "III": "yellow", "II": "orange", "I": "red"}

// ColourNames are the Chinese names of the warning colours, for messages.
var ColourNames = map[string]string{"blue": "蓝色", "yellow": "黄色", "orange": "橙色", "red": "红色"}

// LevelRank orders levels: 0 for none, 1 for IV … 4 for I.
func LevelRank(level string) int {
	return slices.Index(Levels, level) + 1
}

// Duration is a time.Duration written as a Go duration string ("30m", "1h").
type Duration time.Duration

// UnmarshalYAML reads a duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration such as 30m or 1h", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Set is the validated set of playbooks.
type Set struct {
	// Groups maps a parameter to its group: events of one group on one reach form one
	// incident. A parameter not listed is a group of its own.
	Groups   map[string]string
	Messages Messages
	// Grouping is the notification timing of every playbook that sets none of its own.
	Grouping Grouping
	Books    []*Playbook
	byID     map[string]*Playbook
}

// Messages are the texts the responder writes itself, beside the steps' actions.
type Messages struct {
	LevelChanged string `yaml:"level_changed"`
	Reopened     string `yaml:"reopened"`
	Escalation   string `yaml:"escalation"`
	EndOfAlert   string `yaml:"end_of_alert"`
	ReceiptAsk   string `yaml:"receipt_request"`
	// Reminder re-sends a step to its own actor (escalation_policy repeat); optional,
	// DefaultReminder when empty.
	Reminder string `yaml:"reminder"`
	// Reacknowledge tells whoever acknowledged an incident that it re-opened and that
	// the acknowledgement has expired (resolve.renotify_within); optional,
	// DefaultReacknowledge when empty.
	Reacknowledge string `yaml:"reacknowledge"`
	// FollowUp is the follow-up report (续报) sent every grouping.repeat while an incident
	// is open; optional, DefaultFollowUp when empty.
	FollowUp string `yaml:"follow_up"`
}

// Grouping is when an incident's messages go out, after Alertmanager's group_wait,
// group_interval and repeat_interval (docs/escalation.md, Grouping). Every duration is
// divided by the responder's time scale.
type Grouping struct {
	// Wait holds an incident's first messages this long after it opens, so that the rest
	// of a burst of events (more sites, a higher level) goes out in them instead of as
	// updates right after. Default 0: at once.
	Wait Duration `yaml:"wait"`
	// Interval is the least time between two updates (level changes) to one recipient: the
	// updates due meanwhile become one, with the latest news. Default 0: each at once.
	Interval Duration `yaml:"interval"`
	// Repeat sends a follow-up report (续报, messages.follow_up) to everyone told, every
	// Repeat while the incident is open and not silenced. Default 0: none.
	Repeat Duration `yaml:"repeat"`
}

// Default texts of the optional messages.
const (
	DefaultReminder      = "【催办·第{repeat}次】{jurisdiction_name}{role_name}尚未{reason}：“{step_action}”（事件 {incident}）。"
	DefaultReacknowledge = "【续报】{title}：您确认过的事件已重新启动，原确认已失效，请重新确认并继续处置（事件 {incident}）。"
	DefaultFollowUp      = "【续报·第{repeat}次】{title}：事件仍在处置中，当前{level}级（{colour}预警），已完成{steps_done}项任务（共{steps_total}项）。最新：{site_name}{parameter_name} {value}{unit}，{exceedance}（事件 {incident}）。"
)

// GroupingOf is the grouping of the incidents pb opens: its own, else the file's.
func (s *Set) GroupingOf(pb *Playbook) Grouping {
	if pb != nil && pb.Grouping != nil {
		return *pb.Grouping
	}
	return s.Grouping
}

// Playbook is one response plan.
type Playbook struct {
	ID       string        `yaml:"id"`
	Name     string        `yaml:"name"`
	Priority int           `yaml:"priority"`
	Trigger  Trigger       `yaml:"trigger"`
	Level    string        `yaml:"level"` // default level; empty: not an emergency (maintenance)
	Levels   []LevelRule   `yaml:"levels"`
	Steps    []StepDef     `yaml:"steps"`
	Resolve  ResolvePolicy `yaml:"resolve"`
	// Grouping, when set, replaces the file's grouping for incidents this playbook opens.
	Grouping *Grouping `yaml:"grouping"`
	Line     int       `yaml:"-"`
}

// Trigger says which events start the playbook. An empty list matches anything.
type Trigger struct {
	Events     []string `yaml:"events"`
	SiteKinds  []string `yaml:"site_kinds"`
	Parameters []string `yaml:"parameters"`
	Severity   []string `yaml:"severity"`
}

// LevelRule raises the level when an event that started this playbook meets When.
type LevelRule struct {
	Level  string    `yaml:"level"`
	Colour string    `yaml:"colour"` // default: the level's colour
	When   Condition `yaml:"when"`
	Line   int       `yaml:"-"`
}

// Condition is a test on one event (and on the incident's size). Every field set must hold.
type Condition struct {
	EventTypes       []string `yaml:"event_types"`
	SiteKinds        []string `yaml:"site_kinds"`
	Severity         []string `yaml:"severity"`
	MinMultiple      *float64 `yaml:"min_multiple"` // over-standard multiple (C−limit)/limit
	Toxic            *bool    `yaml:"toxic"`
	HeavyMetal       *bool    `yaml:"heavy_metal"`
	MinSites         int      `yaml:"min_sites"`
	MinJurisdictions int      `yaml:"min_jurisdictions"`
}

// StepDef is one step of a playbook.
type StepDef struct {
	ID             string           `yaml:"id"`
	Actor          Actor            `yaml:"actor"`
	Kind           string           `yaml:"kind"`
	Action         string           `yaml:"action"`
	Deadline       Duration         `yaml:"deadline"`
	ConfirmReceipt bool             `yaml:"confirm_receipt"`
	Escalation     []EscalationRule `yaml:"escalation"`
	// Policy is the step's escalation policy (docs/escalation.md): repeat the step to its
	// own actor, then climb level by level. Parse compiles it into rules appended to
	// Escalation, so that the engine has one mechanism.
	Policy *EscalationPolicy `yaml:"escalation_policy"`
	// StationCommand, when set, is sent to the station of each of the step's target sites
	// (the event's site for self, the nearest site of each jurisdiction for the others) as
	// the step starts: joint monitoring (加密监测) or sample retention (超标留样).
	StationCommand *StationAction `yaml:"station_command"`
	Line           int            `yaml:"-"`
}

// StationAction is a step's host command (message.StationCommand).
type StationAction struct {
	// Command is raise_frequency, retain_sample or sync_clock (restore_frequency is what
	// the resolve sends after a raise_frequency, not a step's).
	Command string `yaml:"command"`
	// Interval is the raised real-time interval (CN 1062, whole seconds), Restore the
	// station's usual one, sent as restore_frequency when the incident resolves; both for
	// raise_frequency only.
	Interval Duration `yaml:"interval"`
	Restore  Duration `yaml:"restore"`
	// TTL is how long the command may wait for the station to connect (default 1h).
	TTL Duration `yaml:"ttl"`
}

// DefaultStationCommandTTL is a step's station command TTL when it names none.
const DefaultStationCommandTTL = time.Hour

// check returns what is wrong with a step's station action.
func (a *StationAction) check() []string {
	var bad []string
	seconds := func(name string, d Duration) {
		if d <= 0 || d.D()%time.Second != 0 || d.D() > 9999*time.Second {
			bad = append(bad, fmt.Sprintf("station_command %s must be whole seconds from 1s to 9999s (HJ 212 RtdInterval)", name))
		}
	}
	switch a.Command {
	case message.StationRaiseFrequency:
		seconds("interval", a.Interval)
		seconds("restore", a.Restore)
	case message.StationRetainSample, message.StationSyncClock:
		if a.Interval != 0 || a.Restore != 0 {
			bad = append(bad, "station_command "+a.Command+" takes no interval or restore")
		}
	default:
		bad = append(bad, fmt.Sprintf("station_command command %q is not raise_frequency, retain_sample or sync_clock", a.Command))
	}
	if a.TTL < 0 || a.TTL.D() > message.MaxStationCommandTTL {
		bad = append(bad, "station_command ttl must be at most "+message.MaxStationCommandTTL.String())
	}
	if a.TTL == 0 {
		a.TTL = Duration(DefaultStationCommandTTL)
	}
	return bad
}

// Actor is a role in a jurisdiction given relative to the site.
type Actor struct {
	Relation string `yaml:"relation"`
	Role     string `yaml:"role"`
	// Level, only in an escalation target, climbs the river-chief tree (the
	// jurisdictions' parent in sites.yaml) from the jurisdiction the relation designates:
	// self (the default), parent, grandparent, or top (the root of its tree).
	Level string `yaml:"level"`
	// Up is Level as a number of levels (-1: top); set by Parse.
	Up int `yaml:"-"`
}

// Escalation target levels.
const (
	LevelSelf        = "self"
	LevelParent      = "parent"
	LevelGrandparent = "grandparent"
	LevelTop         = "top"
)

// levelUp maps a target level to the number of levels climbed (-1: the top).
var levelUp = map[string]int{"": 0, LevelSelf: 0, LevelParent: 1, LevelGrandparent: 2, LevelTop: -1}

// EscalationRule notifies To when the step is still not acknowledged (or not done) After
// its start; After defaults to the step's deadline.
type EscalationRule struct {
	If    string   `yaml:"if"`
	After Duration `yaml:"after"`
	To    Actor    `yaml:"to"`
	Line  int      `yaml:"-"`
	// Reminder marks a rule compiled from a policy's repeat: it re-sends the step to the
	// step's own actor (Repeat is its number, from 1) instead of escalating.
	Reminder bool `yaml:"-"`
	Repeat   int  `yaml:"-"`
}

// EscalationPolicy is a step's escalation as a ladder (PagerDuty's escalation policy):
// while the condition holds, the step is re-sent to its own actor Repeat times, one Every
// apart, then each of Levels is notified in turn, one Every apart. Levels typically run
// from the next role of the same jurisdiction to the parent jurisdiction's river chief:
//
//	escalation_policy:
//	  repeat: 2
//	  every: 10m
//	  levels:
//	    - {role: eeb}
//	    - {role: river_chief_office, level: parent}
//
// With a step starting at 0: reminders at 10m and 20m, eeb at 30m, the parent's river
// chief at 40m. The policy's rules come after the step's escalation rules.
type EscalationPolicy struct {
	If     string   `yaml:"if"`     // not_acknowledged (the default) or not_done
	Repeat int      `yaml:"repeat"` // reminders to the step's actor, 0 to 10
	Every  Duration `yaml:"every"`  // between rungs; default the step's deadline
	Levels []Actor  `yaml:"levels"`
}

// MaxPolicyRepeat bounds a policy's reminders.
const MaxPolicyRepeat = 10

// compile returns the policy's rules for a step.
func (p *EscalationPolicy) compile(def *StepDef) []EscalationRule {
	every := p.Every
	if every == 0 {
		every = def.Deadline
	}
	var out []EscalationRule
	rung := 0
	for i := range p.Repeat {
		rung++
		out = append(out, EscalationRule{
			If: p.If, After: Duration(rung) * every, To: Actor{Relation: RelStep, Role: def.Actor.Role},
			Line: def.Line, Reminder: true, Repeat: i + 1,
		})
	}
	for _, lv := range p.Levels {
		rung++
		to := lv
		if to.Relation == "" {
			to.Relation = RelStep
		}
		out = append(out, EscalationRule{If: p.If, After: Duration(rung) * every, To: to, Line: def.Line})
	}
	return out
}

// ResolvePolicy says when an incident following the playbook may resolve and close.
type ResolvePolicy struct {
	// Auto resolves the incident once every condition that opened it has cleared (or, for
	// events that never clear such as quality.suspect, once the incident has been quiet)
	// for Hold. Without Auto only an operator resolves it.
	Auto bool     `yaml:"auto"`
	Hold Duration `yaml:"hold"`
	// CloseAfter closes a resolved incident that stayed quiet this long; until then a
	// related event reopens it instead of opening a new one.
	CloseAfter Duration `yaml:"close_after"`
	// RenotifyWithin: an incident that re-opens within this long of its resolution tells
	// whoever acknowledged it that the acknowledgement has expired (messages.reacknowledge),
	// besides the usual re-opening message to everyone told. Default 0: the close_after
	// (every re-opening does).
	RenotifyWithin Duration `yaml:"renotify_within"`
}

type file struct {
	ParameterGroups map[string][]string `yaml:"parameter_groups"`
	Messages        Messages            `yaml:"messages"`
	Grouping        Grouping            `yaml:"grouping"`
	Playbooks       []Playbook          `yaml:"playbooks"`
}

// Load reads and validates a playbooks file against the network and the contact roles.
func Load(path string, net *network.Network, contacts *notify.Contacts) (*Set, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("playbooks file: %w", err)
	}
	s, err := Parse(data, net, contacts)
	if err != nil {
		return nil, fmt.Errorf("playbooks file %s: %w", path, err)
	}
	return s, nil
}

// Parse validates a playbooks document. Every problem is reported, each naming its line.
func Parse(data []byte, net *network.Network, contacts *notify.Contacts) (*Set, error) {
	var f file
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true) // a misspelt key is an error, not a silently ignored rule
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	recordLines(&root, f.Playbooks)
	return build(f, net, contacts)
}

// recordLines copies each playbook's, step's, rule's line from the node tree.
func recordLines(root *yaml.Node, books []Playbook) {
	items := seq(mapping(root), "playbooks")
	for i, n := range items {
		if i >= len(books) {
			break
		}
		b := &books[i]
		b.Line = n.Line
		for j, sn := range seq(n, "steps") {
			if j < len(b.Steps) {
				b.Steps[j].Line = sn.Line
				for k, en := range seq(sn, "escalation") {
					if k < len(b.Steps[j].Escalation) {
						b.Steps[j].Escalation[k].Line = en.Line
					}
				}
			}
		}
		for j, ln := range seq(n, "levels") {
			if j < len(b.Levels) {
				b.Levels[j].Line = ln.Line
			}
		}
	}
}

func mapping(n *yaml.Node) *yaml.Node {
	if n != nil && n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		return n.Content[0]
	}
	return n
}

func seq(m *yaml.Node, key string) []*yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1].Content
		}
	}
	return nil
}

var eventTypes = []string{
	message.EventExceedanceOpened, message.EventExceedanceUpdated, message.EventExceedanceCleared,
	message.EventPredictionIssued, message.EventPredictionCleared, message.EventQualitySuspect,
	message.EventStationOffline, message.EventStationOnline,
}

// OpeningEvents are the event types that can start an incident; the others only update
// or clear one.
var OpeningEvents = []string{
	message.EventExceedanceOpened, message.EventExceedanceUpdated, message.EventPredictionIssued,
	message.EventQualitySuspect, message.EventStationOffline,
}

var siteKinds = []string{network.KindSection, network.KindDrinkingSource, network.KindOutfall}
var severities = []string{"warning", "severe"}

func build(f file, net *network.Network, contacts *notify.Contacts) (*Set, error) {
	var errs []error
	fail := func(line int, format string, args ...any) {
		errs = append(errs, fmt.Errorf("line %d: %s", line, fmt.Sprintf(format, args...)))
	}
	s := &Set{Groups: map[string]string{}, Messages: f.Messages, Grouping: f.Grouping, byID: map[string]*Playbook{}}
	checkGrouping := func(where string, g Grouping) {
		for name, d := range map[string]Duration{"wait": g.Wait, "interval": g.Interval, "repeat": g.Repeat} {
			if d < 0 {
				errs = append(errs, fmt.Errorf("%s.%s: %v is negative", where, name, d.D()))
			}
		}
	}
	checkGrouping("grouping", f.Grouping)
	for g, params := range f.ParameterGroups {
		for _, p := range params {
			if prev, dup := s.Groups[p]; dup && prev != g {
				errs = append(errs, fmt.Errorf("parameter_groups: %q is in both %q and %q", p, prev, g))
			}
			s.Groups[p] = g
		}
	}
	for name, text := range map[string]string{
		"level_changed": f.Messages.LevelChanged, "reopened": f.Messages.Reopened,
		"escalation": f.Messages.Escalation, "end_of_alert": f.Messages.EndOfAlert,
		"receipt_request": f.Messages.ReceiptAsk,
	} {
		if strings.TrimSpace(text) == "" {
			errs = append(errs, fmt.Errorf("messages.%s: must not be empty", name))
		} else if bad := UnknownPlaceholders(text); len(bad) > 0 {
			errs = append(errs, fmt.Errorf("messages.%s: unknown placeholders %v (known: %s)", name, bad, strings.Join(Placeholders, ", ")))
		}
	}
	checkRole := func(line int, where, role string) {
		if role == "" {
			fail(line, "%s: role is empty", where)
		} else if contacts != nil && !contacts.HasRole(role) {
			fail(line, "%s: role %q is not declared in the contacts file's roles (%s)", where, role, strings.Join(contacts.RoleIDs(), ", "))
		}
	}
	for name, text := range map[string]*string{"reminder": &s.Messages.Reminder, "reacknowledge": &s.Messages.Reacknowledge, "follow_up": &s.Messages.FollowUp} {
		if *text == "" {
			*text = map[string]string{"reminder": DefaultReminder, "reacknowledge": DefaultReacknowledge, "follow_up": DefaultFollowUp}[name]
		} else if bad := UnknownPlaceholders(*text); len(bad) > 0 {
			errs = append(errs, fmt.Errorf("messages.%s: unknown placeholders %v (known: %s)", name, bad, strings.Join(Placeholders, ", ")))
		}
	}
	if len(f.Playbooks) == 0 {
		errs = append(errs, errors.New("no playbooks"))
	}
	for i := range f.Playbooks {
		b := &f.Playbooks[i]
		where := fmt.Sprintf("playbook %q", b.ID)
		if b.ID == "" {
			fail(b.Line, "playbook %d: id is empty", i+1)
		} else if _, dup := s.byID[b.ID]; dup {
			fail(b.Line, "%s: duplicate id", where)
		}
		if b.Grouping != nil {
			checkGrouping(where+": grouping", *b.Grouping)
		}
		if len(b.Trigger.Events) == 0 {
			fail(b.Line, "%s: trigger.events must list at least one event type", where)
		}
		for _, t := range b.Trigger.Events {
			if !slices.Contains(OpeningEvents, t) {
				fail(b.Line, "%s: trigger event %q cannot open an incident (one of %s)", where, t, strings.Join(OpeningEvents, ", "))
			}
		}
		for _, k := range b.Trigger.SiteKinds {
			if !slices.Contains(siteKinds, k) {
				fail(b.Line, "%s: trigger site kind %q is not one of %s", where, k, strings.Join(siteKinds, ", "))
			}
		}
		for _, sv := range b.Trigger.Severity {
			if !slices.Contains(severities, sv) {
				fail(b.Line, "%s: trigger severity %q is not one of %s", where, sv, strings.Join(severities, ", "))
			}
		}
		if b.Level != "" && LevelRank(b.Level) == 0 {
			fail(b.Line, "%s: level %q is not one of IV, III, II, I", where, b.Level)
		}
		if b.Level == "" && len(b.Levels) > 0 {
			fail(b.Line, "%s: levels need a default level", where)
		}
		for _, r := range b.Levels {
			if LevelRank(r.Level) == 0 {
				fail(r.Line, "%s: level rule: level %q is not one of IV, III, II, I", where, r.Level)
			}
			if r.Colour != "" && ColourNames[r.Colour] == "" {
				fail(r.Line, "%s: level rule: colour %q is not blue, yellow, orange or red", where, r.Colour)
			}
			for _, t := range r.When.EventTypes {
				if !slices.Contains(eventTypes, t) {
					fail(r.Line, "%s: level rule: unknown event type %q", where, t)
				}
			}
			for _, k := range r.When.SiteKinds {
				if !slices.Contains(siteKinds, k) {
					fail(r.Line, "%s: level rule: unknown site kind %q", where, k)
				}
			}
			for _, sv := range r.When.Severity {
				if !slices.Contains(severities, sv) {
					fail(r.Line, "%s: level rule: unknown severity %q", where, sv)
				}
			}
		}
		if len(b.Steps) == 0 {
			fail(b.Line, "%s: needs at least one step", where)
		}
		stepIDs := map[string]bool{}
		for j := range b.Steps {
			st := &b.Steps[j]
			sw := fmt.Sprintf("%s step %q", where, st.ID)
			if st.ID == "" || strings.ContainsAny(st.ID, ". /") {
				fail(st.Line, "%s step %d: id must be non-empty without dots, slashes or spaces", where, j+1)
			} else if stepIDs[st.ID] {
				fail(st.Line, "%s: duplicate step id", sw)
			}
			stepIDs[st.ID] = true
			if !slices.Contains(relations, st.Actor.Relation) {
				fail(st.Line, "%s: actor relation %q is not one of %s", sw, st.Actor.Relation, strings.Join(relations, ", "))
			}
			checkRole(st.Line, sw, st.Actor.Role)
			if st.Actor.Level != "" {
				fail(st.Line, "%s: actor level is for escalation targets only", sw)
			}
			if st.Kind == "" {
				st.Kind = KindAssign
			}
			if !slices.Contains(stepKinds, st.Kind) {
				fail(st.Line, "%s: kind %q is not one of %s", sw, st.Kind, strings.Join(stepKinds, ", "))
			}
			if strings.TrimSpace(st.Action) == "" {
				fail(st.Line, "%s: action text is empty", sw)
			} else if bad := UnknownPlaceholders(st.Action); len(bad) > 0 {
				fail(st.Line, "%s: unknown placeholders %v in action (known: %s)", sw, bad, strings.Join(Placeholders, ", "))
			}
			if st.Deadline <= 0 {
				fail(st.Line, "%s: deadline must be a positive duration", sw)
			}
			if st.StationCommand != nil {
				for _, bad := range st.StationCommand.check() {
					fail(st.Line, "%s: %s", sw, bad)
				}
			}
			if p := st.Policy; p != nil {
				if p.If == "" {
					p.If = IfNotAcknowledged
				}
				if p.Repeat < 0 || p.Repeat > MaxPolicyRepeat {
					fail(st.Line, "%s: escalation_policy repeat must be within 0–%d", sw, MaxPolicyRepeat)
				}
				if p.Every < 0 {
					fail(st.Line, "%s: escalation_policy every must not be negative", sw)
				}
				if p.Repeat == 0 && len(p.Levels) == 0 {
					fail(st.Line, "%s: escalation_policy needs repeat or levels", sw)
				}
				st.Escalation = append(st.Escalation, p.compile(st)...)
			}
			for k := range st.Escalation {
				e := &st.Escalation[k]
				if e.If != IfNotAcknowledged && e.If != IfNotDone {
					fail(e.Line, "%s: escalation if %q is not %s or %s", sw, e.If, IfNotAcknowledged, IfNotDone)
				}
				if e.After < 0 {
					fail(e.Line, "%s: escalation after must not be negative", sw)
				}
				if e.To.Relation == "" {
					e.To.Relation = RelStep
				}
				if e.To.Relation != RelStep && !slices.Contains(relations, e.To.Relation) {
					fail(e.Line, "%s: escalation to relation %q is not step or one of %s", sw, e.To.Relation, strings.Join(relations, ", "))
				}
				checkRole(e.Line, sw+" escalation", e.To.Role)
				if up, ok := levelUp[e.To.Level]; ok {
					e.To.Up = up
				} else {
					fail(e.Line, "%s: escalation to level %q is not self, parent, grandparent or top", sw, e.To.Level)
				}
			}
		}
		if b.Resolve.Hold < 0 || b.Resolve.CloseAfter < 0 || b.Resolve.RenotifyWithin < 0 {
			fail(b.Line, "%s: resolve hold, close_after and renotify_within must not be negative", where)
		}
		if b.ID != "" {
			s.byID[b.ID] = b
		}
		s.Books = append(s.Books, b)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	// Highest priority first; file order breaks ties.
	sort.SliceStable(s.Books, func(i, j int) bool { return s.Books[i].Priority > s.Books[j].Priority })
	return s, nil
}

// Book returns the playbook with the given id.
func (s *Set) Book(id string) (*Playbook, bool) {
	b, ok := s.byID[id]
	return b, ok
}

// Group returns the parameter group of a parameter.
func (s *Set) Group(param string) string {
	if g, ok := s.Groups[param]; ok {
		return g
	}
	return param
}

// Match returns the playbook of highest priority whose trigger the event meets, or nil.
func (s *Set) Match(ev *message.Event, site *network.Site) *Playbook {
	for _, b := range s.Books {
		t := b.Trigger
		if in(t.Events, ev.Type) && in(t.SiteKinds, site.Kind) && in(t.Parameters, ev.Parameter) && in(t.Severity, ev.Severity) {
			return b
		}
	}
	return nil
}

// Step returns the step definition with the given id.
func (b *Playbook) Step(id string) (*StepDef, bool) {
	for i := range b.Steps {
		if b.Steps[i].ID == id {
			return &b.Steps[i], true
		}
	}
	return nil, false
}

// in reports whether v is in list; an empty list admits everything.
func in(list []string, v string) bool {
	return len(list) == 0 || slices.Contains(list, v)
}

// In is the trigger-list test for callers: an empty list admits everything.
func In(list []string, v string) bool { return in(list, v) }

// Placeholders that action texts and messages may use.
var Placeholders = []string{
	"site", "site_name", "river", "parameter", "parameter_name", "value", "unit", "limit",
	"multiple", "arrival", "level", "colour", "title", "incident", "jurisdiction",
	"jurisdiction_name", "role_name", "target_site_name", "distance_km", "deadline", "now",
	"step_action", "reason", "origin_site_name", "window", "repeat", "acked_at", "acked_by", "exceedance",
	"steps_done", "steps_total",
	"interception", // where to stop the plume before the intake (docs/plume.md)
	"sources",      // the upstream ranking of the search step (docs/sources.md)
}

var placeholderRE = regexp.MustCompile(`\{([a-z_]+)\}`)

// UnknownPlaceholders returns the {names} in text that are not placeholders.
func UnknownPlaceholders(text string) []string {
	var bad []string
	for _, m := range placeholderRE.FindAllStringSubmatch(text, -1) {
		if !slices.Contains(Placeholders, m[1]) && !slices.Contains(bad, m[1]) {
			bad = append(bad, m[1])
		}
	}
	return bad
}

// Render replaces every {name} in text by vars[name]; a placeholder without a value
// becomes "—" so that a message never shows raw braces. {unit} alone may be empty: pH has
// none, and "实测5.6—" would read as a missing value.
func Render(text string, vars map[string]string) string {
	return placeholderRE.ReplaceAllStringFunc(text, func(m string) string {
		name := m[1 : len(m)-1]
		if v, ok := vars[name]; ok && (v != "" || name == "unit") {
			return v
		}
		return "—"
	})
}
