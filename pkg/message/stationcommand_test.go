package message

import (
	"strings"
	"testing"
	"time"
)

func TestStationCommandValidateRefusesWhatTheAuditOrTheGatewayCannotUse(t *testing.T) {
	at := time.Date(2026, 3, 10, 4, 0, 0, 0, time.UTC)
	ok := StationCommand{ID: "c1", Site: "STH-S2", MN: "65230100000002", Command: StationRaiseFrequency, RtdInterval: 60,
		RequestedBy: "duty", Reason: "joint monitoring", TTLSeconds: 3600, At: at, Status: StationRequested}
	for _, c := range []struct {
		name   string
		change func(*StationCommand)
		want   string // "" valid; else a part of the error
	}{
		{"a complete request", func(*StationCommand) {}, ""},
		{"an outcome with its gateway", func(c *StationCommand) { *c = c.Outcome(StationExecuted, "gw-a", at) }, ""},
		{"a retain_sample without intervals", func(c *StationCommand) { c.Command, c.RtdInterval = StationRetainSample, 0 }, ""},
		{"an unknown command", func(c *StationCommand) { c.Command = "reboot" }, "is not one of"},
		{"a sync_clock (1012)", func(c *StationCommand) { c.Command, c.RtdInterval = StationSyncClock, 0 }, ""},
		{"a read_clock (1011)", func(c *StationCommand) { c.Command, c.RtdInterval = StationReadClock, 0 }, ""},
		{"a rotate_key carries no key", func(c *StationCommand) { c.Command, c.RtdInterval = StationRotateKey, 0 }, ""},
		{"a query_info of an instrument", func(c *StationCommand) {
			c.Command, c.RtdInterval, c.PolID, c.InfoID = StationQueryInfo, 0, "w01018", "i12001"
		}, ""},
		{"a query_info of the logger", func(c *StationCommand) { c.Command, c.RtdInterval, c.InfoID = StationQueryInfo, 0, "i11001" }, ""},
		{"a query_info without info_id", func(c *StationCommand) { c.Command, c.RtdInterval, c.PolID = StationQueryInfo, 0, "w01018" }, "needs info_id"},
		{"a query_info with a bad pol_id", func(c *StationCommand) {
			c.Command, c.RtdInterval, c.PolID, c.InfoID = StationQueryInfo, 0, "w01;1", "i12001"
		}, "pol_id"},
		{"info_id on another command", func(c *StationCommand) { c.InfoID = "i12001" }, "belong to query_info"},
		{"an interval on a clock command", func(c *StationCommand) { c.Command = StationSyncClock }, "belong to raise_frequency"},
		{"a raise without an interval", func(c *StationCommand) { c.RtdInterval = 0 }, "needs one of rtd_interval_s"},
		{"an interval the standard cannot carry", func(c *StationCommand) { c.RtdInterval, c.MinInterval = 0, 61 }, "min_interval_min"},
		{"both intervals in one command", func(c *StationCommand) { c.MinInterval = 1 }, "one of rtd_interval_s"},
		{"no reason", func(c *StationCommand) { c.Reason = " " }, "reason are required"},
		{"no requester", func(c *StationCommand) { c.RequestedBy = "" }, "requested_by"},
		{"no ttl", func(c *StationCommand) { c.TTLSeconds = 0 }, "ttl_s"},
		{"a ttl over a week", func(c *StationCommand) { c.TTLSeconds = 8 * 24 * 3600 }, "ttl_s"},
		{"no mn", func(c *StationCommand) { c.MN = "" }, "mn are required"},
		{"an outcome without its gateway", func(c *StationCommand) { c.Status, c.StatusAt = StationSent, at }, "gateway"},
		{"an unknown status", func(c *StationCommand) { c.Status = "lost" }, "unknown"},
	} {
		t.Run(c.name, func(t *testing.T) {
			x := ok
			c.change(&x)
			err := x.Validate()
			if c.want == "" && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
				t.Fatalf("error %v, want one naming %q", err, c.want)
			}
		})
	}
}

func TestStationCommandIDIsDeterministicPerRequest(t *testing.T) {
	at := time.Date(2026, 3, 10, 4, 0, 0, 0, time.UTC)
	a := StationCommandID("STH-S2", StationRetainSample, "duty", at)
	if a != StationCommandID("STH-S2", StationRetainSample, "duty", at) {
		t.Fatal("the same request got two ids")
	}
	if a == StationCommandID("STH-S2", StationRetainSample, "duty", at.Add(time.Millisecond)) ||
		a == StationCommandID("STH-S1", StationRetainSample, "duty", at) {
		t.Fatal("two requests share an id")
	}
}
