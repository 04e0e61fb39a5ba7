package silence

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

var shanghai = mustZone("Asia/Shanghai")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// local is a time in Asia/Shanghai. 2026-12-01 is a Tuesday.
func local(day, hour, minute int) time.Time {
	return time.Date(2026, 12, day, hour, minute, 0, 0, shanghai)
}

func valid() Silence {
	return Silence{
		ID: "sil-1", Matchers: []Matcher{{Name: LabelSite, Value: "STH-S2"}},
		StartsAt: local(1, 0, 0).UTC(), EndsAt: local(8, 0, 0).UTC(),
		CreatedBy: "changji-admin", Comment: "monthly calibration",
	}
}

func TestValidateRefusesWhatCannotBeASilence(t *testing.T) {
	cases := []struct {
		name   string
		change func(*Silence)
		want   string // a fragment of the error; "" for valid
	}{
		{"a plain site silence is valid", func(*Silence) {}, ""},
		{"a regex over rivers is valid", func(s *Silence) { s.Matchers = []Matcher{{Name: LabelRiver, Value: "santun|toutun", IsRegex: true}} }, ""},
		{"every label name is known", func(s *Silence) {
			s.Matchers = []Matcher{{LabelSite, "a", false}, {LabelParameter, "nh3n", false}, {LabelRiver, "santun", false}, {LabelJurisdiction, "changji", false}, {LabelKind, "outfall", false}}
		}, ""},
		{"a weekly recurrence is valid", func(s *Silence) {
			s.Recurrence = &Recurrence{Weekdays: []string{"tue", "fri"}, Start: "09:00", Duration: "2h"}
		}, ""},
		{"no id", func(s *Silence) { s.ID = "" }, "id is required"},
		{"no matchers", func(s *Silence) { s.Matchers = nil }, "at least one is required"},
		{"an unknown matcher name", func(s *Silence) { s.Matchers = []Matcher{{Name: "severity", Value: "x"}} }, `unknown name "severity"`},
		{"a regex that does not compile", func(s *Silence) { s.Matchers = []Matcher{{Name: LabelSite, Value: "STH-(", IsRegex: true}} }, "regex"},
		{"only matchers that match the empty value", func(s *Silence) { s.Matchers = []Matcher{{Name: LabelSite, Value: ".*", IsRegex: true}} }, "must not match an empty value"},
		{"an empty equality matcher matches only the empty value", func(s *Silence) { s.Matchers = []Matcher{{Name: LabelParameter, Value: ""}} }, "must not match an empty value"},
		{"ends before starts", func(s *Silence) { s.EndsAt = s.StartsAt.Add(-time.Minute) }, "is not after starts_at"},
		{"ends at starts", func(s *Silence) { s.EndsAt = s.StartsAt }, "is not after starts_at"},
		{"no ends_at", func(s *Silence) { s.EndsAt = time.Time{} }, "required"},
		{"no creator", func(s *Silence) { s.CreatedBy = " " }, "created_by is required"},
		{"no comment", func(s *Silence) { s.Comment = "" }, "comment is required"},
		{"too many matchers", func(s *Silence) {
			for range MaxMatchers {
				s.Matchers = append(s.Matchers, Matcher{Name: LabelSite, Value: "x"})
			}
		}, "at most"},
		{"a recurrence without weekdays", func(s *Silence) { s.Recurrence = &Recurrence{Start: "09:00", Duration: "2h"} }, "weekdays"},
		{"a recurrence on an unknown day", func(s *Silence) {
			s.Recurrence = &Recurrence{Weekdays: []string{"monday"}, Start: "09:00", Duration: "2h"}
		}, `"monday"`},
		{"a recurrence with a bad start", func(s *Silence) {
			s.Recurrence = &Recurrence{Weekdays: []string{"mon"}, Start: "9am", Duration: "2h"}
		}, "HH:MM"},
		{"a recurrence longer than a week", func(s *Silence) {
			s.Recurrence = &Recurrence{Weekdays: []string{"mon"}, Start: "09:00", Duration: "169h"}
		}, "at most"},
		{"a recurrence in an unknown zone", func(s *Silence) {
			s.Recurrence = &Recurrence{Weekdays: []string{"mon"}, Start: "09:00", Duration: "2h", Timezone: "Mars/Olympus"}
		}, "timezone"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := valid()
			c.change(&s)
			err := s.Validate()
			switch {
			case c.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case c.want != "" && err == nil:
				t.Errorf("accepted, want an error with %q", c.want)
			case c.want != "" && !strings.Contains(err.Error(), c.want):
				t.Errorf("error %q lacks %q", err, c.want)
			}
		})
	}
}

func TestMatchesNeedsEveryMatcherAndAnActiveTime(t *testing.T) {
	at := local(2, 12, 0)
	labels := Labels{LabelSite: "STH-S2", LabelParameter: "nh3n", LabelRiver: "santun", LabelJurisdiction: "changji", LabelKind: "section"}
	cases := []struct {
		name     string
		matchers []Matcher
		at       time.Time
		want     bool
	}{
		{"the site matches", []Matcher{{LabelSite, "STH-S2", false}}, at, true},
		{"another site does not", []Matcher{{LabelSite, "STH-S1", false}}, at, false},
		{"every matcher must match", []Matcher{{LabelSite, "STH-S2", false}, {LabelParameter, "cod", false}}, at, false},
		{"site and parameter both match", []Matcher{{LabelSite, "STH-S2", false}, {LabelParameter, "nh3n", false}}, at, true},
		{"a regex is anchored at both ends", []Matcher{{LabelSite, "STH", true}}, at, false},
		{"a regex alternative matches", []Matcher{{LabelKind, "outfall|section", true}}, at, true},
		{"equality is not a regex", []Matcher{{LabelSite, "STH-S.", false}}, at, false},
		{"the parameter alone matches", []Matcher{{LabelParameter, "nh3n", false}}, at, true},
		{"before starts_at nothing matches", []Matcher{{LabelSite, "STH-S2", false}}, local(1, 0, 0).Add(-time.Second), false},
		{"at ends_at nothing matches", []Matcher{{LabelSite, "STH-S2", false}}, local(8, 0, 0), false},
		{"just before ends_at it matches", []Matcher{{LabelSite, "STH-S2", false}}, local(8, 0, 0).Add(-time.Second), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := valid()
			s.Matchers = c.matchers
			if got := s.Matches(labels, c.at); got != c.want {
				t.Errorf("Matches = %v, want %v", got, c.want)
			}
		})
	}
	t.Run("an offline station has no parameter", func(t *testing.T) {
		s := valid()
		s.Matchers = []Matcher{{LabelSite, "STH-S2", false}, {LabelParameter, "nh3n", false}}
		if s.Matches(Labels{LabelSite: "STH-S2"}, at) {
			t.Error("a parameter silence silenced a station.offline (no parameter)")
		}
	})
}

func TestRecurringWindowIsWeeklyInShanghai(t *testing.T) {
	s := valid()
	s.StartsAt, s.EndsAt = local(1, 0, 0).UTC(), local(31, 0, 0).UTC()
	// Tuesdays 09:00–11:00 and Sundays 23:00 for 2 hours (into Monday).
	s.Recurrence = &Recurrence{Weekdays: []string{"tue", "sun"}, Start: "09:00", Duration: "2h"}
	sunday := &Recurrence{Weekdays: []string{"sun"}, Start: "23:00", Duration: "2h"}
	cases := []struct {
		name string
		rec  *Recurrence
		at   time.Time
		want string
	}{
		{"Tuesday 09:00 opens the window", s.Recurrence, local(1, 9, 0), StateActive},
		{"Tuesday 10:59 is inside", s.Recurrence, local(1, 10, 59), StateActive},
		{"Tuesday 11:00 closes it", s.Recurrence, local(1, 11, 0), StatePending},
		{"Tuesday 08:59 is before it", s.Recurrence, local(1, 8, 59), StatePending},
		{"Wednesday is not a window day", s.Recurrence, local(2, 9, 30), StatePending},
		{"the next Tuesday opens again", s.Recurrence, local(8, 9, 30), StateActive},
		{"01:30 UTC on Tuesday is 09:30 in Shanghai", s.Recurrence, time.Date(2026, 12, 1, 1, 30, 0, 0, time.UTC), StateActive},
		{"a Sunday window runs past midnight", sunday, local(7, 0, 30), StateActive},
		{"and ends on Monday at 01:00", sunday, local(7, 1, 0), StatePending},
		{"a window after ends_at is expired", s.Recurrence, local(31, 9, 30), StateExpired},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x := s
			x.Recurrence = c.rec
			if err := x.Validate(); err != nil {
				t.Fatal(err)
			}
			if got := x.State(c.at); got != c.want {
				t.Errorf("State(%s) = %s, want %s", c.at.In(shanghai).Format("Mon 15:04"), got, c.want)
			}
		})
	}
}

func TestNextChangeFindsTheNextEdge(t *testing.T) {
	s := valid()
	s.StartsAt, s.EndsAt = local(1, 0, 0).UTC(), local(31, 0, 0).UTC()
	plain := valid()
	rec := s
	rec.Recurrence = &Recurrence{Weekdays: []string{"tue"}, Start: "09:00", Duration: "2h"}
	cases := []struct {
		name string
		s    Silence
		at   time.Time
		want time.Time
	}{
		{"before it starts: starts_at", plain, local(1, 0, 0).Add(-time.Hour), local(1, 0, 0)},
		{"while active: ends_at", plain, local(2, 0, 0), local(8, 0, 0)},
		{"after it ended: never", plain, local(9, 0, 0), time.Time{}},
		{"inside a window: its end", rec, local(1, 9, 30), local(1, 11, 0)},
		{"between windows: the next start", rec, local(2, 9, 30), local(8, 9, 0)},
		{"the next start is capped by ends_at", rec, local(29, 12, 0), local(31, 0, 0)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.s.NextChange(c.at); !got.Equal(c.want) {
				t.Errorf("NextChange = %s, want %s", got, c.want)
			}
		})
	}
}

func TestExpireEndsItNowAndSaysWho(t *testing.T) {
	s := valid()
	now := local(2, 12, 0)
	if !s.Expire(now, "changji-admin", "expired by operator") {
		t.Fatal("Expire changed nothing")
	}
	if got := s.State(now); got != StateExpired {
		t.Errorf("state after expiry %s", got)
	}
	if s.ExpiredBy != "changji-admin" || s.ExpiredAt == nil || !s.EndsAt.Equal(now) {
		t.Errorf("expiry not recorded: %+v", s)
	}
	if s.Expire(now.Add(time.Hour), "x", "again") {
		t.Error("an expired silence expired twice")
	}
	pending := valid()
	early := local(1, 0, 0).Add(-time.Hour)
	pending.Expire(early, "a", "never mind")
	if pending.State(early) != StateExpired || pending.State(local(3, 0, 0)) != StateExpired {
		t.Errorf("a pending silence expired early is %s", pending.State(early))
	}
}

func TestCouldMatchIgnoresLabelsItIsNotGiven(t *testing.T) {
	s := valid()
	s.Matchers = []Matcher{{LabelRiver, "santun", false}, {LabelParameter, "nh3n", false}}
	if !s.CouldMatch(Labels{LabelSite: "STH-S2", LabelRiver: "santun", LabelJurisdiction: "changji", LabelKind: "section"}) {
		t.Error("a santun site could not match a santun silence")
	}
	if s.CouldMatch(Labels{LabelSite: "TTH-S1", LabelRiver: "toutun"}) {
		t.Error("a toutun site could match a santun silence")
	}
}

func TestJSONIsSnakeCase(t *testing.T) {
	s := valid()
	s.EndOnResolve = true
	s.Matchers[0].IsRegex = true
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"matchers"`, `"is_regex":true`, `"starts_at"`, `"ends_at"`, `"created_by"`, `"comment"`, `"end_on_resolve":true`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("%s lacks %s", b, key)
		}
	}
}
