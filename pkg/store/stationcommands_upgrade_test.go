package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/store"
	"github.com/riverwatch/riverwatch/pkg/store/storetest"
)

// An archive at migration 8 has station_commands without pol_id, info_id and report;
// migration 10 adds them (only those missing: ClickHouse 18.16 has no ADD COLUMN IF NOT
// EXISTS) and the records stored before read back without a report.
func TestUpgradeAddsTheStationCommandReportColumnsAndKeepsOldRecords(t *testing.T) {
	e := storetest.NewArchive(t)
	ctx := context.Background()
	at := time.Date(2026, 3, 10, 4, 0, 0, 0, time.UTC)
	old := message.StationCommand{ID: "c-old", Site: "STH-O1", MN: "65230100000101", Command: message.StationRetainSample, RequestedBy: "responder",
		Reason: "over the permit", TTLSeconds: 600, At: at, Status: message.StationRequested}
	if _, err := e.Writer.Write(ctx, store.KindStationCommands, "t.station-commands",
		storetest.AsMessages(t, []message.StationCommand{old}, func(c message.StationCommand) string { return c.Site }, 0, 0)); err != nil {
		t.Fatal(err)
	}
	// Back to a version-8 archive: the columns dropped, migrations after 8 not recorded.
	for _, q := range []string{
		"ALTER TABLE " + e.Table(store.TableStationCommands) + " DROP COLUMN pol_id",
		"ALTER TABLE " + e.Table(store.TableStationCommands) + " DROP COLUMN report",
		"TRUNCATE TABLE " + e.Table(store.TableMigrations),
	} {
		if err := e.Conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	ran, err := store.Migrate(ctx, e.Conn, e.Schema, storetest.Quiet())
	if err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	if !slices.ContainsFunc(ran, func(m store.Migration) bool { return m.Version == 10 }) {
		t.Fatalf("upgrade ran %v, want migration 10", ran)
	}
	got, err := e.Reader.StationCommands(ctx, store.StationCommandQuery{Site: old.Site, From: at.Add(-time.Hour), To: at.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != old.ID || got[0].Report != nil || got[0].PolID != "" {
		t.Fatalf("old record read back as %+v", got)
	}
	// Run again (the record truncated once more): nothing to add, no error.
	if err := e.Conn.Exec(ctx, "TRUNCATE TABLE "+e.Table(store.TableMigrations)); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Migrate(ctx, e.Conn, e.Schema, storetest.Quiet()); err != nil {
		t.Fatalf("migration 10 run again: %v", err)
	}
}
