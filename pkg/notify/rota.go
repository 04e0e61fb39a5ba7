package notify

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Rota is the duty rota of one jurisdiction × role (docs/escalation.md): who is on duty at
// a given time. Times are wall-clock times in the deployment's time zone (sites.yaml
// timezone).
//
// A shift starts on each of its days at From and ends at To (the next day when To is not
// after From); a shift without hours runs from the handover on its day to the handover on
// the next. Holidays are dates: a window that starts on a holiday belongs only to shifts
// whose days list "holiday", and a shift of weekdays does not start on a holiday. The first
// shift in the list that covers the hour is on duty; when none does (a holiday without a
// holiday shift, a gap in the rota) the entry's people are.
type Rota struct {
	// Handover is when the duty day changes, "HH:MM" (default 00:00).
	Handover string `yaml:"handover"`
	// Holidays are dates, "YYYY-MM-DD", on which only holiday shifts start.
	Holidays []string `yaml:"holidays"`
	Shifts   []Shift  `yaml:"shifts"`

	handover time.Duration
	holidays map[string]bool
}

// Shift is one window of a rota with the people on duty in it.
type Shift struct {
	// Days are mon, tue, wed, thu, fri, sat, sun, weekdays, weekend or holiday.
	Days []string `yaml:"days"`
	// Hours is "HH:MM-HH:MM"; empty: from handover to handover.
	Hours  string    `yaml:"hours"`
	People []Contact `yaml:"people"`

	weekdays [7]bool
	holiday  bool
	from     time.Duration
	length   time.Duration
}

var dayNames = map[string][]time.Weekday{
	"mon": {time.Monday}, "tue": {time.Tuesday}, "wed": {time.Wednesday}, "thu": {time.Thursday},
	"fri": {time.Friday}, "sat": {time.Saturday}, "sun": {time.Sunday},
	"weekdays": {time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday},
	"weekend":  {time.Saturday, time.Sunday},
}

const dayHoliday = "holiday"

// clock parses "HH:MM" into the time since midnight.
func clock(s string) (time.Duration, error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a time of day HH:MM", s)
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
}

// compile validates a rota and prepares it for OnDuty; every problem is returned, each
// naming the shift.
func (r *Rota) compile() []string {
	var bad []string
	if r.Handover != "" {
		h, err := clock(r.Handover)
		if err != nil {
			bad = append(bad, "rota handover: "+err.Error())
		}
		r.handover = h
	}
	r.holidays = map[string]bool{}
	for _, d := range r.Holidays {
		if _, err := time.Parse(time.DateOnly, d); err != nil {
			bad = append(bad, fmt.Sprintf("rota holiday %q is not a date YYYY-MM-DD", d))
			continue
		}
		r.holidays[d] = true
	}
	if len(r.Shifts) == 0 {
		bad = append(bad, "rota has no shifts")
	}
	for i := range r.Shifts {
		s := &r.Shifts[i]
		where := fmt.Sprintf("rota shift %d", i+1)
		if len(s.Days) == 0 {
			bad = append(bad, where+": days is empty (mon … sun, weekdays, weekend, holiday)")
		}
		for _, d := range s.Days {
			d = strings.ToLower(d)
			if d == dayHoliday {
				s.holiday = true
				continue
			}
			wds, ok := dayNames[d]
			if !ok {
				bad = append(bad, fmt.Sprintf("%s: day %q is not one of mon … sun, weekdays, weekend, holiday", where, d))
			}
			for _, wd := range wds {
				s.weekdays[wd] = true
			}
		}
		if s.Hours == "" {
			s.from, s.length = r.handover, 24*time.Hour
		} else {
			a, b, ok := strings.Cut(s.Hours, "-")
			from, errA := clock(strings.TrimSpace(a))
			to, errB := clock(strings.TrimSpace(b))
			switch {
			case !ok || errA != nil || errB != nil:
				bad = append(bad, fmt.Sprintf("%s: hours %q is not HH:MM-HH:MM", where, s.Hours))
			case from == to:
				bad = append(bad, fmt.Sprintf("%s: hours %q is empty (leave hours out for a whole duty day)", where, s.Hours))
			default:
				s.from, s.length = from, to-from
				if to < from {
					s.length += 24 * time.Hour
				}
			}
		}
		if len(s.People) == 0 {
			bad = append(bad, where+": no people")
		}
	}
	return bad
}

// startsOn reports whether the shift has a window starting on the given date.
func (s *Shift) startsOn(date time.Time, holiday bool) bool {
	if holiday {
		return s.holiday
	}
	return s.weekdays[date.Weekday()]
}

// OnDuty returns the people of the first shift that covers at, or nil when none does. loc
// is the deployment's time zone.
func (r *Rota) OnDuty(at time.Time, loc *time.Location) []Contact {
	if r == nil {
		return nil
	}
	local := at.In(loc)
	today := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, loc)
	for i := range r.Shifts {
		s := &r.Shifts[i]
		// A window is at most a day long, so the one covering at started today or yesterday.
		for _, day := range []time.Time{today, today.AddDate(0, 0, -1)} {
			if !s.startsOn(day, r.holidays[day.Format(time.DateOnly)]) {
				continue
			}
			// Wall-clock start: a daylight-saving jump moves it, as it moves the duty desk.
			start := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, loc).Add(s.from)
			if !local.Before(start) && local.Before(start.Add(s.length)) {
				return slices.Clone(s.People)
			}
		}
	}
	return nil
}
