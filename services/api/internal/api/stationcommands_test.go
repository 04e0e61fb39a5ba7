package api_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/services/api/internal/api"
)

const stationCommandsPath = "/api/v1/sites/STH-S2/commands"

// TestAResponderCommandsTheSitesStationAndTheListingShowsItsOutcome: the request is
// published with who asked and why, and the listing shows it with what the gateways
// recorded, the final record winning over another replica's not_connected.
func TestAResponderCommandsTheSitesStationAndTheListingShowsItsOutcome(t *testing.T) {
	e := newEnv(t)
	res := e.do(t, "POST", stationCommandsPath, responderChangji, map[string]any{
		"command": "raise_frequency", "rtd_interval_s": 60, "reason": "加密监测", "incident": e.fix.OpenIncident, "ttl_s": 600,
	})
	var cr api.StationCommandResponse
	res.decode(t, &cr)
	if res.status != http.StatusAccepted || cr.Status != "accepted" || cr.CommandID == "" {
		t.Fatalf("%d %s", res.status, res.body)
	}
	site, _ := e.net.Site("STH-S2")
	var list api.Page[api.StationCommandView]
	e.do(t, "GET", stationCommandsPath, viewerChangji, nil).decode(t, &list)
	if len(list.Items) != 1 {
		t.Fatalf("listed %d commands, want 1", len(list.Items))
	}
	req := list.Items[0].StationCommand
	if req.ID != cr.CommandID || req.MN != site.Station.MN || req.Command != message.StationRaiseFrequency || req.RtdInterval != 60 ||
		req.RequestedBy == "" || req.RequestedRole != "responder" || req.Reason != "加密监测" || req.Incident != e.fix.OpenIncident ||
		req.TTLSeconds != 600 || req.Status != message.StationRequested {
		t.Fatalf("request %+v", req)
	}

	// What the gateways record: one replica does not hold the station, the other sends it.
	now := e.now
	executed := req.Outcome(message.StationExecuted, "gw-a", now.Add(3*time.Second))
	executed.ExeRtn = "1"
	e.store.AddStationCommands(req.Outcome(message.StationNotConnected, "gw-b", now.Add(time.Second)),
		req.Outcome(message.StationSent, "gw-a", now.Add(2*time.Second)), executed,
		req.Outcome(message.StationNotConnected, "gw-c", now.Add(4*time.Second)))
	e.do(t, "GET", stationCommandsPath, viewerChangji, nil).decode(t, &list)
	v := list.Items[0]
	if v.Status != message.StationExecuted || v.Gateway != "gw-a" || v.ExeRtn != "1" || len(v.Records) != 5 ||
		v.Records[0].Status != message.StationRequested {
		t.Fatalf("view status %s by %s ExeRtn %s with %d records, want executed by gw-a with 5", v.Status, v.Gateway, v.ExeRtn, len(v.Records))
	}
}

// TestAQueryInfoIsRecordedWithWhatItAskedAndTheListingShowsWhatTheStationReported: the
// request keeps pol_id and info_id, the executed record's report (the 3020 upload) is on
// the command's view.
func TestAQueryInfoIsRecordedWithWhatItAskedAndTheListingShowsWhatTheStationReported(t *testing.T) {
	e := newEnv(t)
	for _, body := range []map[string]any{
		{"command": "query_info", "pol_id": "w01018", "info_id": "i12001", "reason": "is the COD analyser running?"},
		{"command": "sync_clock", "reason": "the logger's clock drifts"},
		{"command": "read_clock", "reason": "check the drift"},
		{"command": "rotate_key", "reason": "90-day rotation (HJ 212-2025 §6.4.3)"},
	} {
		if res := e.do(t, "POST", stationCommandsPath, responderChangji, body); res.status != http.StatusAccepted {
			t.Fatalf("%v: %d %s", body["command"], res.status, res.body)
		}
		e.now = e.now.Add(time.Millisecond) // one requester, one instant: one id
	}
	var list api.Page[api.StationCommandView]
	e.do(t, "GET", stationCommandsPath, viewerChangji, nil).decode(t, &list)
	i := slices.IndexFunc(list.Items, func(v api.StationCommandView) bool { return v.Command == message.StationQueryInfo })
	if len(list.Items) != 4 || i < 0 {
		t.Fatalf("listed %+v", list.Items)
	}
	req := list.Items[i].StationCommand
	if req.PolID != "w01018" || req.InfoID != "i12001" {
		t.Fatalf("request %+v", req)
	}
	executed := req.Outcome(message.StationExecuted, "gw-a", e.now.Add(time.Second))
	executed.ExeRtn = "1"
	executed.Report = &message.StationReport{Info: []message.StationInfo{{PolID: "w01018", InfoID: "i12001", Value: "1"}}}
	e.store.AddStationCommands(executed)
	e.do(t, "GET", stationCommandsPath, viewerChangji, nil).decode(t, &list)
	i = slices.IndexFunc(list.Items, func(v api.StationCommandView) bool { return v.Command == message.StationQueryInfo })
	if v := list.Items[i]; v.Status != message.StationExecuted || v.Report == nil || len(v.Report.Info) != 1 || v.Report.Info[0].Value != "1" {
		t.Fatalf("view %+v report %+v", v.StationCommand, v.Report)
	}
}

func TestAStationCommandRequestIsRefusedWithoutWhatItNeeds(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		name string
		body map[string]any
		want string
	}{
		{"no reason", map[string]any{"command": "retain_sample"}, "reason"},
		{"an unknown command", map[string]any{"command": "reboot", "reason": "x"}, "is not one of"},
		{"a raise without an interval", map[string]any{"command": "raise_frequency", "reason": "x"}, "rtd_interval_s"},
		{"a TTL over a week", map[string]any{"command": "retain_sample", "reason": "x", "ttl_s": 700000}, "ttl_s"},
		{"an unknown field", map[string]any{"command": "retain_sample", "reason": "x", "station": "other"}, "station"},
		{"a key in the request", map[string]any{"command": "rotate_key", "reason": "x", "new_key": "8f3ae1c9027b44d5a6e0193c7d2b5f18"}, "new_key"},
		{"a query_info without info_id", map[string]any{"command": "query_info", "reason": "x", "pol_id": "w01018"}, "info_id"},
		{"info_id on another command", map[string]any{"command": "read_clock", "reason": "x", "info_id": "i12001"}, "belong to query_info"},
		{"an empty pol_id is not an absent one", map[string]any{"command": "query_info", "reason": "x", "pol_id": "", "info_id": "i12001"}, "may not be empty"},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := e.do(t, "POST", stationCommandsPath, responderChangji, c.body)
			if res.status != http.StatusBadRequest || !strings.Contains(string(res.body), c.want) {
				t.Fatalf("%d %s, want 400 naming %q", res.status, res.body, c.want)
			}
		})
	}
	if n := len(e.do(t, "GET", stationCommandsPath, viewerChangji, nil).body); n == 0 {
		t.Fatal("empty listing body")
	}
	var list api.Page[api.StationCommandView]
	e.do(t, "GET", stationCommandsPath, viewerChangji, nil).decode(t, &list)
	if len(list.Items) != 0 {
		t.Errorf("refused requests were published: %+v", list.Items)
	}
	// A responder of another jurisdiction does not see the site (404, as one that does not
	// exist), a viewer may not command (403).
	if res := e.do(t, "POST", stationCommandsPath, responderUrumqi, map[string]any{"command": "retain_sample", "reason": "x"}); res.status != http.StatusNotFound {
		t.Errorf("urumqi responder: %d", res.status)
	}
	if res := e.do(t, "POST", stationCommandsPath, viewerChangji, map[string]any{"command": "retain_sample", "reason": "x"}); res.status != http.StatusForbidden {
		t.Errorf("viewer: %d", res.status)
	}
}

// TestTheIncidentShowsTheStationCommandsOfItsPlaybooksAtTheSitesTheTokenSees: joint
// monitoring raises the frequency on both sides of the boundary; each side's token sees
// its own station's command and answers on the incident, the admin both, and a command of
// another incident is not there.
func TestTheIncidentShowsTheStationCommandsOfItsPlaybooksAtTheSitesTheTokenSees(t *testing.T) {
	e := newEnv(t)
	raise := func(site, incident string) message.StationCommand {
		s, _ := e.net.Site(site)
		c := message.StationCommand{Site: site, MN: s.Station.MN, Command: message.StationRaiseFrequency, RtdInterval: 60,
			RequestedBy: "responder", RequestedRole: "playbook", Reason: "加密监测", Incident: incident, TTLSeconds: 3600,
			At: e.now.Add(-time.Minute), Status: message.StationRequested}
		c.ID = message.StationCommandID(site, c.Command, c.RequestedBy, c.At)
		return c
	}
	here, there, other := raise("STH-S2", e.fix.OpenIncident), raise("STH-S3", e.fix.OpenIncident), raise("STH-S1", e.fix.AckedIncident)
	executed := here.Outcome(message.StationExecuted, "gw-a", e.now.Add(-50*time.Second))
	executed.ExeRtn = "1"
	e.store.AddStationCommands(here, there, other, executed)
	for _, c := range []struct {
		token string
		want  []string // site:status of each command
	}{
		{admin, []string{"STH-S2:" + message.StationExecuted, "STH-S3:" + message.StationRequested}},
		{viewerChangji, []string{"STH-S2:" + message.StationExecuted}},
		{viewerXPCC6, []string{"STH-S3:" + message.StationRequested}},
	} {
		var d api.IncidentDetail
		e.do(t, "GET", "/api/v1/incidents/"+e.fix.OpenIncident, c.token, nil).decode(t, &d)
		var got []string
		for _, v := range d.StationCommands {
			got = append(got, v.Site+":"+v.Status)
		}
		slices.Sort(got)
		if !slices.Equal(got, c.want) {
			t.Errorf("%s sees station commands %q, want %q", c.token, got, c.want)
		}
	}
}
