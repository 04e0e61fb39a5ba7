// Package silence is riverwatch's silence and maintenance-window model, shaped like
// Alertmanager's silences in the API's snake_case: matchers of name/value/is_regex over an
// incident's labels (site, parameter, river, jurisdiction, kind), a validity interval
// (starts_at, ends_at), who created it and why, and two things Alertmanager users ask for
// and do not have: end_on_resolve (the silence ends when the incident it silenced
// resolves) and a weekly recurrence (a calibration window every Tuesday 09:00 for two
// hours, in Asia/Shanghai unless told otherwise).
//
// A silence holds notifications; it never stops an incident from opening or being
// recorded. The responder owns silences (they reach it as commands on riverwatch.commands
// and live in its state topic); this package is the pure model: validation, state at a
// time, and matching.
package silence

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Label names a matcher may use.
const (
	LabelSite         = "site"
	LabelParameter    = "parameter"
	LabelRiver        = "river"
	LabelJurisdiction = "jurisdiction"
	LabelKind         = "kind"
)

// LabelNames are the names a matcher may use, in the order the docs list them.
var LabelNames = []string{LabelSite, LabelParameter, LabelRiver, LabelJurisdiction, LabelKind}

// States of a silence at a given time (Alertmanager's pending, active, expired).
const (
	StatePending = "pending"
	StateActive  = "active"
	StateExpired = "expired"
)

// DefaultTimezone is the zone of a recurrence that names none: the zone of the river
// network (sites.yaml timezone) in every deployment so far.
const DefaultTimezone = "Asia/Shanghai"

// MaxMatchers bounds the matchers of one silence.
const MaxMatchers = 16

// MaxRecurrenceDuration bounds one recurring window: a week (longer would overlap itself).
const MaxRecurrenceDuration = 7 * 24 * time.Hour

// Labels are what a silence is matched against: one event of an incident, described by its
// site, parameter, river, the site's jurisdiction and the site's kind.
type Labels map[string]string

// Matcher is one condition on one label: equal to Value, or (IsRegex) matching Value as a
// regular expression anchored at both ends, as Alertmanager does.
type Matcher struct {
	Name    string `json:"name"`
	Value   string `json:"value"`
	IsRegex bool   `json:"is_regex"`
}

// Recurrence narrows a silence to a weekly window: on each of Weekdays, from Start (local
// "15:04" in Timezone) for Duration. A window may run past midnight into the next day.
type Recurrence struct {
	// Weekdays in lower-case English, three letters: mon, tue, wed, thu, fri, sat, sun.
	Weekdays []string `json:"weekdays"`
	// Start is the local start time, "HH:MM".
	Start string `json:"start"`
	// Duration is a Go duration ("2h", "90m"), at most a week.
	Duration string `json:"duration"`
	// Timezone is an IANA zone; empty means DefaultTimezone.
	Timezone string `json:"timezone,omitempty"`
}

// Silence holds the notifications of every incident all of whose events its matchers
// match, while it is active. Version grows with every change, so the latest snapshot wins
// in storage.
type Silence struct {
	ID       string    `json:"id"`
	Version  uint64    `json:"version"`
	Matchers []Matcher `json:"matchers"`
	StartsAt time.Time `json:"starts_at"`
	EndsAt   time.Time `json:"ends_at"`
	// CreatedBy is the name of the token that created it (the audit identity).
	CreatedBy string `json:"created_by"`
	Comment   string `json:"comment"`
	// EndOnResolve ends the silence when an incident it silenced resolves.
	EndOnResolve bool        `json:"end_on_resolve,omitempty"`
	Recurrence   *Recurrence `json:"recurrence,omitempty"`
	// ExpiredBy and ExpiredAt record an early end: an operator's expiry (their token name)
	// or "responder" when end_on_resolve ended it. EndsAt is then ExpiredAt.
	ExpiredBy string     `json:"expired_by,omitempty"`
	ExpiredAt *time.Time `json:"expired_at,omitempty"`
	// Reason says why it ended early ("expired by operator", "incident ... resolved").
	Reason    string    `json:"reason,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
}

var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// Validate reports everything wrong with a silence, joined: an unknown matcher name, a
// regex that does not compile, no matcher that narrows anything, ends not after starts, a
// missing creator or comment, a malformed recurrence.
func (s *Silence) Validate() error {
	var errs []error
	if s.ID == "" {
		errs = append(errs, errors.New("id is required"))
	}
	if len(s.Matchers) == 0 {
		errs = append(errs, errors.New("matchers: at least one is required"))
	}
	if len(s.Matchers) > MaxMatchers {
		errs = append(errs, fmt.Errorf("matchers: %d, at most %d", len(s.Matchers), MaxMatchers))
	}
	narrows := false
	for i, m := range s.Matchers {
		if !slices.Contains(LabelNames, m.Name) {
			errs = append(errs, fmt.Errorf("matchers[%d]: unknown name %q (want one of %s)", i, m.Name, strings.Join(LabelNames, ", ")))
			continue
		}
		re, err := m.compile()
		if err != nil {
			errs = append(errs, fmt.Errorf("matchers[%d]: %w", i, err))
			continue
		}
		if !re.MatchString("") {
			narrows = true
		}
	}
	if len(s.Matchers) > 0 && !narrows {
		// Alertmanager's rule: a silence whose every matcher matches the empty value
		// would match labels that say nothing, i.e. silence everything.
		errs = append(errs, errors.New("matchers: at least one must not match an empty value"))
	}
	if s.StartsAt.IsZero() || s.EndsAt.IsZero() {
		errs = append(errs, errors.New("starts_at and ends_at are required"))
	} else if !s.EndsAt.After(s.StartsAt) {
		errs = append(errs, fmt.Errorf("ends_at %s is not after starts_at %s", s.EndsAt.Format(time.RFC3339), s.StartsAt.Format(time.RFC3339)))
	}
	if strings.TrimSpace(s.CreatedBy) == "" {
		errs = append(errs, errors.New("created_by is required"))
	}
	if strings.TrimSpace(s.Comment) == "" {
		errs = append(errs, errors.New("comment is required"))
	}
	if s.Recurrence != nil {
		if _, err := s.Recurrence.parse(); err != nil {
			errs = append(errs, fmt.Errorf("recurrence: %w", err))
		}
	}
	return errors.Join(errs...)
}

func (m Matcher) compile() (*regexp.Regexp, error) {
	if !m.IsRegex {
		return regexp.MustCompile("^" + regexp.QuoteMeta(m.Value) + "$"), nil
	}
	re, err := regexp.Compile("^(?:" + m.Value + ")$")
	if err != nil {
		return nil, fmt.Errorf("regex %q: %w", m.Value, err)
	}
	return re, nil
}

// Match reports whether the matcher matches value (a label absent is the empty value).
func (m Matcher) Match(value string) bool {
	if !m.IsRegex {
		return m.Value == value
	}
	re, err := m.compile()
	return err == nil && re.MatchString(value)
}

type window struct {
	days     map[time.Weekday]bool
	hour     int
	minute   int
	duration time.Duration
	loc      *time.Location
}

func (r *Recurrence) parse() (window, error) {
	w := window{days: map[time.Weekday]bool{}}
	var errs []error
	if len(r.Weekdays) == 0 {
		errs = append(errs, errors.New("weekdays: at least one is required"))
	}
	for _, d := range r.Weekdays {
		wd, ok := weekdays[strings.ToLower(d)]
		if !ok {
			errs = append(errs, fmt.Errorf("weekdays: %q is not one of mon, tue, wed, thu, fri, sat, sun", d))
			continue
		}
		w.days[wd] = true
	}
	st, err := time.Parse("15:04", r.Start)
	if err != nil {
		errs = append(errs, fmt.Errorf("start %q: want HH:MM", r.Start))
	}
	w.hour, w.minute = st.Hour(), st.Minute()
	w.duration, err = time.ParseDuration(r.Duration)
	switch {
	case err != nil:
		errs = append(errs, fmt.Errorf("duration %q: %w", r.Duration, err))
	case w.duration <= 0 || w.duration > MaxRecurrenceDuration:
		errs = append(errs, fmt.Errorf("duration %s: want more than 0 and at most %s", w.duration, MaxRecurrenceDuration))
	}
	tz := r.Timezone
	if tz == "" {
		tz = DefaultTimezone
	}
	w.loc, err = time.LoadLocation(tz)
	if err != nil {
		errs = append(errs, fmt.Errorf("timezone %q: %w", tz, err))
	}
	return w, errors.Join(errs...)
}

// open returns the window that contains t, if any.
func (w window) open(t time.Time) (start, end time.Time, ok bool) {
	lt := t.In(w.loc)
	// A window that contains t started at most its duration (≤ a week) before t.
	for back := 0; back <= 7; back++ {
		day := lt.AddDate(0, 0, -back)
		if !w.days[day.Weekday()] {
			continue
		}
		start = time.Date(day.Year(), day.Month(), day.Day(), w.hour, w.minute, 0, 0, w.loc)
		end = start.Add(w.duration)
		if !t.Before(start) && t.Before(end) {
			return start, end, true
		}
	}
	return time.Time{}, time.Time{}, false
}

// State is pending before starts_at, expired from ends_at on, and active in between. A
// recurring silence is active only inside one of its weekly windows, and pending between
// them.
func (s *Silence) State(t time.Time) string {
	switch {
	case !t.Before(s.EndsAt):
		return StateExpired
	case t.Before(s.StartsAt):
		return StatePending
	}
	if s.Recurrence != nil {
		w, err := s.Recurrence.parse()
		if err != nil {
			return StatePending // an invalid recurrence never silences (Validate refuses it)
		}
		if _, _, ok := w.open(t); !ok {
			return StatePending
		}
	}
	return StateActive
}

// Active reports whether the silence holds notifications at t.
func (s *Silence) Active(t time.Time) bool { return s.State(t) == StateActive }

// Matches reports whether the silence is active at t and every matcher matches the labels
// (a label the labels lack is the empty value).
func (s *Silence) Matches(l Labels, t time.Time) bool {
	return s.Active(t) && s.MatchesLabels(l)
}

// MatchesLabels reports whether every matcher matches the labels, whatever the time.
func (s *Silence) MatchesLabels(l Labels) bool {
	for _, m := range s.Matchers {
		if !m.Match(l[m.Name]) {
			return false
		}
	}
	return true
}

// CouldMatch reports whether the matchers that name a label present in l all match it: the
// others are ignored. With a site's labels (no parameter) it tells whether the silence can
// ever concern that site, which is how the api and the responder find the jurisdictions a
// silence reaches.
func (s *Silence) CouldMatch(l Labels) bool {
	for _, m := range s.Matchers {
		v, ok := l[m.Name]
		if ok && !m.Match(v) {
			return false
		}
	}
	return true
}

// NextChange returns the first time after t at which the silence's state may change (a
// window opening or closing, starts_at, ends_at); zero when it never changes again. The
// responder uses it to release held notifications when a silence stops being active.
func (s *Silence) NextChange(t time.Time) time.Time {
	if !t.Before(s.EndsAt) {
		return time.Time{}
	}
	if t.Before(s.StartsAt) {
		return s.StartsAt
	}
	next := s.EndsAt
	if s.Recurrence != nil {
		if w, err := s.Recurrence.parse(); err == nil {
			if _, end, ok := w.open(t); ok {
				next = minTime(next, end)
			} else {
				// The next window start within a week.
				lt := t.In(w.loc)
				for ahead := 0; ahead <= 7; ahead++ {
					day := lt.AddDate(0, 0, ahead)
					if !w.days[day.Weekday()] {
						continue
					}
					st := time.Date(day.Year(), day.Month(), day.Day(), w.hour, w.minute, 0, 0, w.loc)
					if st.After(t) {
						next = minTime(next, st)
						break
					}
				}
			}
		}
	}
	return next
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// Expire ends the silence at t (if it has not ended), recording who ended it and why.
// It reports whether anything changed.
func (s *Silence) Expire(t time.Time, by, reason string) bool {
	if !t.Before(s.EndsAt) {
		return false
	}
	at := t.UTC()
	if at.Before(s.StartsAt) {
		s.StartsAt = at // expired before it started: it never was active
	}
	s.EndsAt = at
	s.ExpiredAt = &at
	s.ExpiredBy = by
	s.Reason = reason
	return true
}

// Describe is a one-line summary for logs and the audit trail: its matchers and comment.
func (s *Silence) Describe() string {
	parts := make([]string, len(s.Matchers))
	for i, m := range s.Matchers {
		op := "="
		if m.IsRegex {
			op = "=~"
		}
		parts[i] = m.Name + op + fmt.Sprintf("%q", m.Value)
	}
	return fmt.Sprintf("%s {%s} by %s: %s", s.ID, strings.Join(parts, ", "), s.CreatedBy, s.Comment)
}
