package store

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverwatch/riverwatch/pkg/message"
)

// TestMigrationElevenKeepsTheVerificationOfAVerdict upgrades an archive of 10 (events
// without the verification columns) holding a verdict: migration 11 adds the columns, the
// verdict stored before reads without a verification, and a verdict written afterwards
// reads back with its outcome, threshold, rise, peak and fall (to the second) and errors.
func TestMigrationElevenKeepsTheVerificationOfAVerdict(t *testing.T) {
	_, conn, s := unmigrated(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	old := eventsTable
	old.columns = slices.DeleteFunc(slices.Clone(old.columns), func(c column) bool { return slices.Contains(eventColumnsV11, c.name) })
	for _, q := range append([]string{s.createDatabase()}, s.createTable(migrationsTable)...) {
		if err := conn.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	ms := Migrations()
	for _, m := range ms[:10] {
		if err := recordMigration(ctx, conn, s, m); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range s.createTable(old) {
		if err := conn.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if err := conn.Exec(ctx, "INSERT INTO "+s.Table(TableEvents)+" (id, type, site, parameter, value, observed_at, observed_ms, emitted_at, origin_site, version) "+
		"SELECT 'before', 'prediction.verified', 'STH-S2', 'nh3n', 1.9, toDateTime(1772409600), toUInt16(0), toDateTime(1772409600), 'STH-O1', toUInt64(1)"); err != nil {
		t.Fatal(err)
	}
	ran, err := Migrate(ctx, conn, s, quiet())
	// 11, then the later migrations (which do not concern this test).
	if err != nil || len(ran) != len(ms)-10 || ran[0].Version != 11 {
		t.Fatalf("migrate from 10 ran %v, %v; want migration 11 and those after", ran, err)
	}
	rise := time.Unix(1772413200, 0).UTC()
	after := message.Event{
		ID: "after", Type: message.EventPredictionRefuted, Site: "STH-S2", Parameter: "nh3n", Value: 2.5,
		ObservedAt: rise, EmittedAt: rise.Add(3 * time.Hour), OriginSite: "STH-O1", ArrivalAt: rise.Add(-20 * time.Minute),
		Verification: message.Verification{Outcome: "refuted", Threshold: 0.65, RiseAt: rise, PeakAt: rise.Add(time.Hour), Peak: 2.5,
			FallAt: rise.Add(2 * time.Hour), RiseErrorS: 1500, PeakTimeErrorS: -600.5, PeakError: 0.7, DurationErrorS: 1800},
	}
	var rows eventRows
	rows.add(&after)
	w := NewWriter(conn, s, time.UTC, NewMetrics(prometheus.NewRegistry()), quiet())
	if err := w.insert(ctx, rows.block(), ""); err != nil {
		t.Fatal(err)
	}
	got, err := NewReader(conn, s.Database).Events(ctx, EventQuery{From: rise.Add(-48 * time.Hour), To: rise.Add(time.Hour), Limit: 10})
	if err != nil || len(got) != 2 {
		t.Fatalf("events = %v, %v; want the two verdicts", got, err)
	}
	byID := map[string]message.Event{got[0].ID: got[0], got[1].ID: got[1]}
	if vb := byID["before"].Verification; !vb.IsZero() {
		t.Errorf("a verdict stored before migration 11 reads verification %+v, want none", vb)
	}
	if va := byID["after"].Verification; va != after.Verification {
		t.Errorf("verification read back %+v\nwant %+v", va, after.Verification)
	}
}
