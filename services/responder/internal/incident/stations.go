package incident

import (
	"fmt"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/network"
	"github.com/riverwatch/riverwatch/services/responder/internal/playbook"
)

// rolePlaybook is the requested_role of the playbooks' station commands.
const rolePlaybook = "playbook"

// stationCommand sends a step's host command to the station of site (docs/architecture.md,
// Station commands) and records it on the incident. A drill commands no station, and a
// site without an HJ 212 station is logged as skipped.
func (e *Engine) stationCommand(t *tx, st *State, stepID, def string, a *playbook.StationAction, site *network.Site) {
	switch {
	case st.Incident.Drill:
		t.log(st, "station_command_skipped", actorResponder, fmt.Sprintf("%s: %s at %s not sent in a drill", stepID, a.Command, site.ID), "")
		return
	case site.Station == nil:
		t.log(st, "station_command_skipped", actorResponder, fmt.Sprintf("%s: %s has no HJ 212 station for %s", stepID, site.ID, a.Command), "")
		return
	}
	c := message.StationCommand{Site: site.ID, MN: site.Station.MN, Command: a.Command, RequestedBy: actorResponder,
		RequestedRole: rolePlaybook, Reason: fmt.Sprintf("playbook %s, incident %s", def, st.Incident.Title),
		Incident: st.Incident.ID, TTLSeconds: int(a.TTL.D() / time.Second), At: t.now, Status: message.StationRequested}
	if a.Command == message.StationRaiseFrequency {
		c.RtdInterval = int(a.Interval.D() / time.Second)
		st.Raised = append(st.Raised, Raised{Site: site.ID, MN: site.Station.MN, StepID: stepID, Restore: int(a.Restore.D() / time.Second)})
	}
	// One id per incident, step and site: a replayed event issues the same command.
	c.ID = message.StationCommandID(site.ID, c.Command, st.Incident.ID+"/"+stepID, st.Incident.OpenedAt)
	e.send(t, st, c, stepID)
}

// restoreFrequencies restores the interval of every station the incident's steps raised.
func (e *Engine) restoreFrequencies(t *tx, st *State) {
	for _, r := range st.Raised {
		c := message.StationCommand{Site: r.Site, MN: r.MN, Command: message.StationRestoreFrequency, RtdInterval: r.Restore,
			RequestedBy: actorResponder, RequestedRole: rolePlaybook, Reason: "incident " + st.Incident.Title + " resolved",
			Incident: st.Incident.ID, TTLSeconds: int(playbook.DefaultStationCommandTTL / time.Second), At: t.now,
			Status: message.StationRequested}
		c.ID = message.StationCommandID(r.Site, c.Command, fmt.Sprintf("%s/%s/%d", st.Incident.ID, r.StepID, st.Round), st.Incident.OpenedAt)
		e.send(t, st, c, r.StepID)
	}
	st.Raised = nil
}

func (e *Engine) send(t *tx, st *State, c message.StationCommand, stepID string) {
	if err := c.Validate(); err != nil {
		t.log(st, "station_command_skipped", actorResponder, fmt.Sprintf("%s: %s at %s: %v", stepID, c.Command, c.Site, err), "")
		return
	}
	t.stations = append(t.stations, c)
	detail := fmt.Sprintf("%s: %s at %s (MN %s)", stepID, c.Command, c.Site, c.MN)
	if c.RtdInterval > 0 {
		detail += fmt.Sprintf(", real-time interval %ds", c.RtdInterval)
	}
	t.log(st, "station_command", actorResponder, detail+", command "+c.ID, "")
}
