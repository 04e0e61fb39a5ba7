package notify

import (
	"strings"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/network"
)

const rotaNet = `
timezone: Asia/Shanghai
jurisdictions:
  - {id: changji, name: 昌吉市}
rivers:
  - {id: r, name: R, velocity_mps: 1, flow_m3s: 1}
sites:
  - {id: S1, kind: section, river: r, km: 1, jurisdiction: changji, target_class: III}
`

// rotaContacts: a day shift and a night shift on weekdays, a holiday shift on 2 December
// 2026 (a Wednesday), the duty desk as the default (weekends, Sunday night).
const rotaContacts = `roles: {river_chief_office: 河长办}
contacts:
  - jurisdiction: changji
    role: river_chief_office
    people: [{name: 值班室, channel: webhook}]
    rota:
      handover: "08:30"
      holidays: ["2026-12-02"]
      shifts:
        - {days: [weekdays], hours: "08:30-17:30", people: [{name: 白班, channel: webhook}]}
        - {days: [weekdays], hours: "17:30-08:30", people: [{name: 夜班, channel: webhook}]}
        - {days: [holiday], people: [{name: 节日班, channel: dingtalk}]}
`

func rotaFixture(t *testing.T) (*Contacts, *time.Location) {
	t.Helper()
	n, err := network.Parse([]byte(rotaNet))
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseContacts([]byte(rotaContacts), n, "http://127.0.0.1:8085/hook")
	if err != nil {
		t.Fatal(err)
	}
	return c, n.Location
}

func TestOnDutyFollowsTheRotaOfTheHour(t *testing.T) {
	c, loc := rotaFixture(t)
	at := func(day, hour, minute int) time.Time {
		return time.Date(2026, 11, 30, hour, minute, 0, 0, loc).AddDate(0, 0, day)
	}
	tests := []struct {
		name string
		at   time.Time
		want string
	}{
		{"a weekday morning is the day shift's", at(0, 9, 0), "白班"},
		{"the minute before the night begins", at(0, 17, 29), "白班"},
		{"the night shift from 17:30", at(0, 17, 30), "夜班"},
		{"the night runs past midnight to the handover", at(1, 8, 0), "夜班"},
		{"the handover hands the desk to the day shift", at(1, 8, 30), "白班"},
		{"a holiday belongs to the holiday shift", at(2, 10, 0), "节日班"},
		{"a holiday morning before handover is the night before's", at(2, 8, 0), "夜班"},
		{"the holiday shift runs to the next handover", at(3, 8, 0), "节日班"},
		{"Friday's night shift ends on Saturday at the handover", at(5, 8, 0), "夜班"},
		{"a weekend day falls back to the default", at(5, 12, 0), "值班室"},
		{"Sunday night has no shift: the default", at(7, 8, 0), "值班室"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := c.OnDuty("changji", "river_chief_office", tt.at.UTC())
			if len(got) != 1 || got[0].Name != tt.want {
				t.Fatalf("on duty at %s: %+v, want %s", tt.at.Format("Mon 2006-01-02 15:04"), got, tt.want)
			}
		})
	}
	if got := c.OnDuty("changji", "eeb", at(0, 9, 0)); got != nil {
		t.Errorf("a role without contacts: %+v", got)
	}
}

func TestRotaPeopleAreFoundForDeliveryAndDefaulted(t *testing.T) {
	c, _ := rotaFixture(t)
	got, ok := c.Lookup("changji", "river_chief_office", "夜班", ChannelWebhook)
	if !ok || got.Target != "http://127.0.0.1:8085/hook" {
		t.Errorf("night shift contact: %+v, %v; want it found with the default webhook", got, ok)
	}
	if _, ok := c.Lookup("changji", "river_chief_office", "夜班", ChannelDingTalk); ok {
		t.Error("a contact found under a channel it does not have")
	}
	if _, ok := c.Find("changji", "river_chief_office", "节日班"); !ok {
		t.Error("the holiday shift's contact is not found by name (its secret could not be looked up)")
	}
	if got := c.For("changji", "river_chief_office"); len(got) != 1 || got[0].Name != "值班室" {
		t.Errorf("For = %+v, want the default people only", got)
	}
}

func TestParseContactsRefusesBadRotas(t *testing.T) {
	n, err := network.Parse([]byte(rotaNet))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ name, from, to, want string }{
		{"a handover that is no time", `handover: "08:30"`, `handover: "8h30"`, `line 3: contacts of changji/river_chief_office: rota handover: "8h30" is not a time of day HH:MM`},
		{"a holiday that is no date", `"2026-12-02"`, `"2026-12-32"`, `rota holiday "2026-12-32" is not a date YYYY-MM-DD`},
		{"an unknown day", `days: [holiday]`, `days: [feiertag]`, `rota shift 3: day "feiertag" is not one of`},
		{"hours that are no range", `hours: "17:30-08:30"`, `hours: "evening"`, `rota shift 2: hours "evening" is not HH:MM-HH:MM`},
		{"an empty range", `hours: "17:30-08:30"`, `hours: "17:30-17:30"`, `rota shift 2: hours "17:30-17:30" is empty`},
		{"a shift without people", `people: [{name: 节日班, channel: dingtalk}]`, `people: []`, "rota shift 3: no people"},
		{"a shift without days", `{days: [holiday], `, `{`, "rota shift 3: days is empty"},
		{"a shift contact on an unknown channel", `{name: 白班, channel: webhook}`, `{name: 白班, channel: pager}`, `rota shift 1: 白班: channel "pager"`},
		{"a misspelt rota key", `handover: "08:30"`, `hand_over: "08:30"`, "field hand_over not found"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc := strings.Replace(rotaContacts, tc.from, tc.to, 1)
			if doc == rotaContacts {
				t.Fatalf("case does not apply: %q not in the document", tc.from)
			}
			_, err := ParseContacts([]byte(doc), n, "http://127.0.0.1:8085/hook")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v\nwant it to contain %q", err, tc.want)
			}
		})
	}
}
