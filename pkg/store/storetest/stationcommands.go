package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/store"
)

// stationCommandsAndOutcomes: every record of a station command is kept (the request,
// then each gateway's outcome, in the order made), a replayed record stays one, the
// latest command comes first and another site's are not listed.
func stationCommandsAndOutcomes(t *testing.T, r Reader, s Seeder) {
	ctx := context.Background()
	at := time.Date(2026, 3, 10, 4, 0, 0, 123e6, time.UTC)
	raise := message.StationCommand{Site: "STH-S2", MN: "65230100000002", Command: message.StationRaiseFrequency,
		RtdInterval: 60, RequestedBy: "responder", RequestedRole: "playbook", Reason: "joint monitoring",
		Incident: "inc-sth-s2-nh3n", TTLSeconds: 3600, At: at, Status: message.StationRequested}
	raise.ID = message.StationCommandID(raise.Site, raise.Command, raise.RequestedBy, at)
	sent := raise.Outcome(message.StationSent, "gw-a", at.Add(time.Second))
	sent.QN, sent.Attempts = "20260310120000123", 1
	acked := raise.Outcome(message.StationAcknowledged, "gw-a", at.Add(2*time.Second))
	acked.QnRtn = "1"
	done := raise.Outcome(message.StationExecuted, "gw-a", at.Add(3*time.Second))
	done.ExeRtn, done.Detail = "1", "executed"
	elsewhere := raise.Outcome(message.StationNotConnected, "gw-b", at.Add(500*time.Millisecond))

	retain := message.StationCommand{Site: "STH-S2", MN: "65230100000002", Command: message.StationRetainSample,
		RequestedBy: "duty responder", RequestedRole: "responder", Reason: "over the permit", TTLSeconds: 600,
		At: at.Add(time.Hour), Status: message.StationRequested}
	retain.ID = message.StationCommandID(retain.Site, retain.Command, retain.RequestedBy, retain.At)
	expired := retain.Outcome(message.StationExpired, "gw-a", retain.At.Add(10*time.Minute))
	// A query_info's request keeps what it asked, its end what the station reported.
	info := message.StationCommand{Site: "STH-S2", MN: "65230100000002", Command: message.StationQueryInfo, PolID: "w01018", InfoID: "i12001",
		RequestedBy: "duty admin", RequestedRole: "admin", Reason: "analyser state", TTLSeconds: 600, At: at.Add(30 * time.Minute), Status: message.StationRequested}
	info.ID = message.StationCommandID(info.Site, info.Command, info.RequestedBy, info.At)
	infoDone := info.Outcome(message.StationExecuted, "gw-a", info.At.Add(2*time.Second))
	reportAt := info.At.Add(time.Second)
	infoDone.ExeRtn, infoDone.Report = "1", &message.StationReport{DataTime: &reportAt, Info: []message.StationInfo{{PolID: "w01018", InfoID: "i12001", Value: "0"}}}
	other := raise
	other.Site, other.ID = "STH-S1", "other"

	s.StationCommands(t, raise, other)
	s.StationCommands(t, sent, elsewhere, acked)
	s.StationCommands(t, done, retain, expired)
	s.StationCommands(t, acked, done) // a replay
	s.StationCommands(t, info, infoDone)

	got, err := r.StationCommands(ctx, store.StationCommandQuery{Site: "STH-S2", From: at.Add(-time.Hour), To: at.Add(2 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	want := []message.StationCommand{retain, expired, info, infoDone, raise, elsewhere, sent, acked, done}
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		wantStatusAt := w.StatusAt
		if wantStatusAt.IsZero() {
			wantStatusAt = w.At
		}
		if g.ID != w.ID || g.Status != w.Status || g.Gateway != w.Gateway || !g.At.Equal(w.At) || !g.StatusAt.Equal(wantStatusAt) ||
			g.Command != w.Command || g.RtdInterval != w.RtdInterval || g.RequestedBy != w.RequestedBy || g.Reason != w.Reason ||
			g.Incident != w.Incident || g.TTLSeconds != w.TTLSeconds || g.QN != w.QN || g.QnRtn != w.QnRtn ||
			g.ExeRtn != w.ExeRtn || g.Attempts != w.Attempts || g.Detail != w.Detail || g.MN != w.MN ||
			g.PolID != w.PolID || g.InfoID != w.InfoID || (g.Report == nil) != (w.Report == nil) {
			t.Errorf("record %d:\n got %+v\nwant %+v", i, g, w)
		}
		if w.Report != nil && g.Report != nil && (len(g.Report.Info) != 1 || g.Report.Info[0] != w.Report.Info[0] ||
			g.Report.DataTime == nil || !g.Report.DataTime.Equal(*w.Report.DataTime)) {
			t.Errorf("record %d report %+v, want %+v", i, g.Report, w.Report)
		}
	}
	// By incident: the records of the commands its playbook asked for, at every site
	// (other is at STH-S1), and none of another incident's or of none.
	byIncident, err := r.StationCommands(ctx, store.StationCommandQuery{Incident: raise.Incident, From: at.Add(-time.Hour), To: at.Add(2 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	var gotIDs []string
	for _, c := range byIncident {
		gotIDs = append(gotIDs, c.ID+"/"+c.Site+"/"+c.Status)
	}
	wantIDs := []string{raise.ID + "/STH-S2/" + raise.Status, elsewhere.ID + "/STH-S2/" + elsewhere.Status, sent.ID + "/STH-S2/" + sent.Status,
		acked.ID + "/STH-S2/" + acked.Status, done.ID + "/STH-S2/" + done.Status, "other/STH-S1/" + other.Status}
	slices.Sort(gotIDs)
	slices.Sort(wantIDs)
	if !slices.Equal(gotIDs, wantIDs) {
		t.Errorf("by incident: %q, want %q", gotIDs, wantIDs)
	}
	if n, err := r.StationCommands(ctx, store.StationCommandQuery{Site: "STH-S2", From: at.Add(-time.Hour), To: at.Add(2 * time.Hour), Limit: 2}); err != nil || len(n) != 2 {
		t.Errorf("limit 2: %d records, %v", len(n), err)
	}
	if n, err := r.StationCommands(ctx, store.StationCommandQuery{Site: "STH-S2", From: at.Add(time.Minute), To: at.Add(2 * time.Hour)}); err != nil || len(n) != 4 {
		t.Errorf("from after the first request: %d records, %v; want the retain_sample's 2 and the query_info's 2", len(n), err)
	}
}
