package config

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Rules of a recurring drill.
const (
	DrillWeekly  = "weekly"
	DrillMonthly = "monthly"
)

// DrillSchedule is one recurring drill (top-level key drills, a list): the api starts a
// drill at site at each occurrence, as POST /api/v1/drills would (docs/operations.md).
// Environment variables cannot set the list; the configuration file does.
type DrillSchedule struct {
	// ID names the schedule; unique. It makes each occurrence's command id, so that every
	// api instance sends the same command and the responder applies it once.
	ID string `mapstructure:"id"`
	// Site is where the drill starts; Parameter the exceeded parameter (default codmn, as
	// the route's); Note goes to the drill's audit trail.
	Site      string `mapstructure:"site"`
	Parameter string `mapstructure:"parameter"`
	Note      string `mapstructure:"note"`
	// Every is weekly (on Weekday: mon … sun) or monthly (on Day, 1–28, so that every
	// month has it).
	Every   string `mapstructure:"every"`
	Weekday string `mapstructure:"weekday"`
	Day     int    `mapstructure:"day"`
	// At is the local time of day (HH:MM, in the network's time zone).
	At string `mapstructure:"at"`
}

// Weekdays as a weekly drill names them.
var drillWeekdays = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// WeekdayOf returns the weekday of a weekly schedule.
func (d DrillSchedule) WeekdayOf() (time.Weekday, bool) {
	wd, ok := drillWeekdays[strings.ToLower(d.Weekday)]
	return wd, ok
}

// TimeOfDay returns At as hours and minutes.
func (d DrillSchedule) TimeOfDay() (hour, minute int, err error) {
	t, err := time.Parse("15:04", d.At)
	if err != nil {
		return 0, 0, fmt.Errorf("at %q: want HH:MM", d.At)
	}
	return t.Hour(), t.Minute(), nil
}

// validateDrills checks every schedule, naming it by its place in the list (the list has
// no environment variables).
func validateDrills(ds []DrillSchedule) error {
	var errs []error
	bad := func(i int, field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("config key drills[%d].%s: %s", i, field, fmt.Sprintf(format, args...)))
	}
	seen := map[string]bool{}
	for i, d := range ds {
		switch {
		case strings.TrimSpace(d.ID) == "":
			bad(i, "id", "must not be empty")
		case seen[d.ID]:
			bad(i, "id", "%q is used twice", d.ID)
		}
		seen[d.ID] = true
		if strings.TrimSpace(d.Site) == "" {
			bad(i, "site", "must not be empty")
		}
		switch d.Every {
		case DrillWeekly:
			if _, ok := d.WeekdayOf(); !ok {
				bad(i, "weekday", "%q: want mon, tue, wed, thu, fri, sat or sun", d.Weekday)
			}
		case DrillMonthly:
			if d.Day < 1 || d.Day > 28 {
				bad(i, "day", "%d: want 1 to 28 (every month has it)", d.Day)
			}
		default:
			bad(i, "every", "%q: want weekly or monthly", d.Every)
		}
		if _, _, err := d.TimeOfDay(); err != nil {
			bad(i, "at", "%v", err)
		}
	}
	return errors.Join(errs...)
}
