package apitest

import (
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
)

// SpillIncident is the id of the incident Spill builds.
const SpillIncident = "inc-spill"

// Spill is an ammonia and phosphorus spill at the Changji wastewater plant's outfall
// (STH-O1, km 66 of the Santun, 0.6 m³/s in configs/sites.yaml), seen 4 km down at STH-S2
// (km 70) 85 minutes later — the plume needs 4000 m ÷ 0.8 m/s = 83 min 20 s — while STH-S1
// above the outfall and the source STH-D1 stay flat: the incident that opened at STH-S2
// observed at opened, and real-time readings every 5 minutes over the 40 hours before it.
// The responder opened the incident 8 hours after the event was observed, as it does with
// data sent late (a backfill, the accelerated demo): the exceedance.opened event, in the
// incident's event ids, says when the water did it. The source ranking (GET …/sources)
// must put STH-O1 first. Keep opened days away from Seed's hourly readings (the last three
// days), which would mix with these.
func Spill(opened time.Time) (message.Incident, []message.Reading, []message.Event) {
	opened = opened.UTC().Truncate(5 * time.Minute)
	var rs []message.Reading
	series := func(site, param string, base, high float64, from time.Time) {
		for t := opened.Add(-40 * time.Hour); !t.After(opened.Add(10 * time.Minute)); t = t.Add(5 * time.Minute) {
			v := base
			if !t.Before(from) {
				v = high
			}
			rs = append(rs, message.Reading{
				ID: message.ReadingID(site, param, message.IntervalRealtime, t), Site: site, Parameter: param, Value: v, Unit: "mg/L",
				Interval: message.IntervalRealtime, Flag: message.FlagNormal, ObservedAt: t, ReceivedAt: t.Add(time.Minute), Source: message.SourceHJ212,
			})
		}
	}
	never := opened.Add(time.Hour)
	rise := opened.Add(-5 * time.Minute)
	series("STH-S2", "nh3n", 0.3, 2.1, rise)
	series("STH-S2", "tp", 0.1, 0.2, rise)
	series("STH-O1", "nh3n", 1.0, 18, rise.Add(-85*time.Minute))
	series("STH-O1", "tp", 0.3, 1.4, rise.Add(-85*time.Minute))
	series("STH-O1", "flow", 0.6, 0.6, never)
	series("STH-S1", "nh3n", 0.4, 0.4, never)
	series("STH-S1", "tp", 0.1, 0.1, never)
	series("STH-D1", "nh3n", 0.1, 0.1, never)
	ev := message.Event{
		ID: message.EventID(message.EventExceedanceOpened, "STH-S2", "nh3n", opened, ""), Type: message.EventExceedanceOpened,
		Site: "STH-S2", River: "santun", Parameter: "nh3n", Value: 2.1, Limit: 1, TargetClass: "III", Class: "劣V", Multiple: 1.1,
		Severity: "severe", ObservedAt: opened, EmittedAt: opened.Add(8 * time.Hour),
	}
	// An older exceedance of the site, not this incident's: it must not move the onset.
	old := ev
	old.ObservedAt = opened.Add(-30 * time.Hour)
	old.ID = message.EventID(message.EventExceedanceOpened, "STH-S2", "nh3n", old.ObservedAt, "")
	processed := opened.Add(8 * time.Hour)
	inc := message.Incident{
		ID: SpillIncident, Version: 1, Title: "三屯河城区下游断面 氨氮超标（排污口泄漏）", Status: message.IncidentOpen, Level: "IV", Colour: "blue",
		Playbook: "section_exceedance", River: "santun", Site: "STH-S2", Sites: []string{"STH-S2"}, Parameters: []string{"nh3n"},
		Jurisdictions: []string{"changji", "xpcc6"}, EventIDs: []string{ev.ID}, Steps: []message.Step{}, OpenedAt: processed, UpdatedAt: processed,
	}
	return inc, rs, []message.Event{ev, old}
}

// SeedSpill stores Spill(opened) in m.
func SeedSpill(m *MemStore, opened time.Time) {
	inc, rs, evs := Spill(opened)
	m.PutIncident(inc)
	m.AddReadings(rs...)
	m.AddEvents(evs...)
}
