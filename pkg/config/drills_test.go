package config

import (
	"strings"
	"testing"
)

func TestLoadReadsRecurringDrills(t *testing.T) {
	c, err := Load(writeConfig(t, `drills:
  - {id: santun-weekly, site: STH-S2, parameter: nh3n, every: weekly, weekday: tue, at: "09:30", note: 周演练}
  - {id: toutun-monthly, site: TTH-S2, every: monthly, day: 15, at: "14:00"}
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Drills) != 2 || c.Drills[0].ID != "santun-weekly" || c.Drills[0].Weekday != "tue" || c.Drills[0].Note != "周演练" ||
		c.Drills[1].Every != DrillMonthly || c.Drills[1].Day != 15 || c.Drills[1].At != "14:00" {
		t.Errorf("drills %+v", c.Drills)
	}
	if d, err := Load(""); err != nil || len(d.Drills) != 0 {
		t.Errorf("by default: %v, %+v; want no drills", err, d)
	}
}

func TestLoadRefusesABadDrillScheduleNamingItsPlace(t *testing.T) {
	for _, tc := range []struct{ name, item, want string }{
		{"no id", `{site: STH-S2, every: weekly, weekday: mon, at: "09:00"}`, "drills[0].id: must not be empty"},
		{"no site", `{id: a, every: weekly, weekday: mon, at: "09:00"}`, "drills[0].site: must not be empty"},
		{"a rule that is neither weekly nor monthly", `{id: a, site: STH-S2, every: daily, at: "09:00"}`, "drills[0].every"},
		{"a weekday that is none", `{id: a, site: STH-S2, every: weekly, weekday: funday, at: "09:00"}`, "drills[0].weekday"},
		{"a day some months lack", `{id: a, site: STH-S2, every: monthly, day: 31, at: "09:00"}`, "drills[0].day"},
		{"a time that is not HH:MM", `{id: a, site: STH-S2, every: monthly, day: 1, at: "9am"}`, "drills[0].at"},
		{"an unknown field", `{id: a, site: STH-S2, every: monthly, day: 1, at: "09:00", hour: 9}`, "hour"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(writeConfig(t, "drills:\n  - "+tc.item+"\n"))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want it to say %q", err, tc.want)
			}
		})
	}
	_, err := Load(writeConfig(t, "drills:\n  - {id: a, site: STH-S2, every: monthly, day: 1, at: \"09:00\"}\n  - {id: a, site: STH-S1, every: monthly, day: 2, at: \"09:00\"}\n"))
	if err == nil || !strings.Contains(err.Error(), `drills[1].id: "a" is used twice`) {
		t.Errorf("a repeated id: %v", err)
	}
}
