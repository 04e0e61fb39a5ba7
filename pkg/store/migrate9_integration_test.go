package store

import (
	"context"
	"slices"
	"testing"
	"time"
)

// TestMigrationNineAddsTheNonDetectColumnsToAnArchiveOfEight upgrades an archive made by
// migrations 1–8 (its tables without the columns migrations 9 and 10 add): the columns are
// added to readings, the three rollups and station_commands, the rows stored before keep
// their values and read below_dl 0 (detected), and a second run changes nothing.
func TestMigrationNineAddsTheNonDetectColumnsToAnArchiveOfEight(t *testing.T) {
	_, conn, s := unmigrated(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// Migration 10's station_commands columns and 11's events columns too: an archive of
	// 8 lacks them, and the upgrade runs all three.
	added := map[string]bool{"below_dl": true, "pol_id": true, "info_id": true, "report": true}
	for _, c := range rollupColumnsV9 {
		added[c.name] = true
	}
	for _, c := range eventColumnsV11 {
		added[c] = true
	}
	old := func(t tableSpec) tableSpec {
		t.columns = slices.DeleteFunc(slices.Clone(t.columns), func(c column) bool { return added[c.name] })
		return t
	}
	// The archive as migrations 1–8 left it.
	for _, q := range append([]string{s.createDatabase()}, s.createTable(migrationsTable)...) {
		if err := conn.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range Migrations()[:8] {
		if err := recordMigration(ctx, conn, s, m); err != nil {
			t.Fatal(err)
		}
	}
	upgraded := []tableSpec{readingsTable, fiveMinTable, hourlyTable, dailyTable, stationCommandsTable, eventsTable}
	for _, tb := range upgraded {
		for _, q := range s.createTable(old(tb)) {
			if err := conn.Exec(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := conn.Exec(ctx, "INSERT INTO "+s.Table(TableReadings)+" (id, site, station, parameter, value, unit, interval_kind, flag, observed_at, observed_ms, received_at, source, version) "+
		"SELECT 'r1', 'STH-S2', 'mn', 'phenol', 0.004, 'mg/L', 'lab', 'N', toDateTime(1772409600), toUInt16(0), toDateTime(1772409660), 'csv', toUInt64(1)"); err != nil {
		t.Fatal(err)
	}

	if err := conn.Exec(ctx, "INSERT INTO "+s.Table(TableReadingsDaily)+" (site, parameter, day, unit, samples, valid, hours, value_sum, value_min, value_max, last_value, last_at, version) "+
		"SELECT 'STH-S2', 'nh3n', toDate('2026-03-02'), 'mg/L', toUInt64(3), toUInt64(2), toUInt8(2), 1.5, 0.5, 1.0, 1.0, toDateTime(1772409600), toUInt64(1)"); err != nil {
		t.Fatal(err)
	}

	ran, err := Migrate(ctx, conn, s, quiet())
	if err != nil {
		t.Fatalf("migrate from 8: %v", err)
	}
	// 9 and 10, then the later migrations (which do not concern this test).
	if len(ran) != len(Migrations())-8 || ran[0].Version != 9 || ran[1].Version != 10 {
		t.Fatalf("migrate from 8 ran %v, want migrations 9, 10 and those after", ran)
	}
	for _, tb := range upgraded {
		var names []string
		rows, err := conn.Query(ctx, "SELECT name FROM system.columns WHERE database = ? AND table = ?", s.Database, tb.name)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				t.Fatal(err)
			}
			names = append(names, n)
		}
		rows.Close()
		if !slices.Equal(names, tb.columnNames()) {
			t.Errorf("%s after migration 9: columns %v, want %v", tb.name, names, tb.columnNames())
		}
	}
	var value float64
	var belowDL uint8
	if err := conn.QueryRow(ctx, "SELECT value, below_dl FROM "+s.Table(TableReadings)+" WHERE id = 'r1'").Scan(&value, &belowDL); err != nil {
		t.Fatal(err)
	}
	if value != 0.004 || belowDL != 0 {
		t.Errorf("a reading stored before migration 9 reads value %v below_dl %d, want 0.004 and 0", value, belowDL)
	}
	// A rollup row stored before reads as automatic data: every valid reading, none below
	// the detection limit.
	var nd, autoValid, autoND uint64
	var autoSum, autoMin, autoMax float64
	if err := conn.QueryRow(ctx, "SELECT below_dl, auto_valid, auto_sum, auto_min, auto_max, auto_below_dl FROM "+s.Table(TableReadingsDaily)).
		Scan(&nd, &autoValid, &autoSum, &autoMin, &autoMax, &autoND); err != nil {
		t.Fatal(err)
	}
	if nd != 0 || autoValid != 2 || autoSum != 1.5 || autoMin != 0.5 || autoMax != 1.0 || autoND != 0 {
		t.Errorf("a daily row stored before migration 9 reads below_dl %d auto %d/%v/%v/%v/%d, want 0 and the row's valid statistics 2/1.5/0.5/1/0",
			nd, autoValid, autoSum, autoMin, autoMax, autoND)
	}
	if ran, err := Migrate(ctx, conn, s, quiet()); err != nil || len(ran) != 0 {
		t.Errorf("second migrate: ran %v, %v; want nothing", ran, err)
	}
	// Interrupted half way (one column added, the rest not): the step run again adds the
	// rest and does not trip over the columns already there.
	if err := conn.Exec(ctx, "ALTER TABLE "+s.Table(TableReadingsDaily)+" DROP COLUMN auto_below_dl"); err != nil {
		t.Fatal(err)
	}
	for _, a := range Migrations()[8].AddColumns(s) {
		if err := addColumn(ctx, conn, s, a); err != nil {
			t.Fatalf("migration 9's step run again: %v", err)
		}
	}
	var n uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM system.columns WHERE database = ? AND table = 'readings_daily' AND name = 'auto_below_dl'", s.Database).Scan(&n); err != nil || n != 1 {
		t.Errorf("readings_daily.auto_below_dl after the rerun: %d columns (%v), want 1", n, err)
	}
}
