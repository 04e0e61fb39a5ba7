package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/store"
	"github.com/riverwatch/riverwatch/pkg/store/storetest"
)

// An archive created before migration 4 has readings and hourly rows but no readings_5min.
// Hours are now summed from readings_5min, so migration 4 must fill it from the readings
// already stored: otherwise the first batch after the upgrade that touches an old hour
// would rewrite that hour with only the new readings.
func TestUpgradeFillsFiveMinuteRollupSoOldHoursKeepTheirReadings(t *testing.T) {
	e := storetest.NewArchive(t)
	ctx := context.Background()
	base := time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC)
	recs := storetest.Readings(25*60, base) // 10:00–10:59, 25 series
	early, late := recs[:25*40], recs[25*40:]
	if _, err := e.Writer.Write(ctx, store.KindReadings, "t.readings", storetest.AsMessages(t, early, storetest.ReadingKey, 0, 0)); err != nil {
		t.Fatal(err)
	}
	hourlyBefore, dailyBefore := e.RollupSnapshot(t)

	// Back to the state of a version-3 archive: no readings_5min, migration 4 not recorded.
	for _, q := range []string{"DROP TABLE " + e.Table(store.TableReadings5Min), "TRUNCATE TABLE " + e.Table(store.TableMigrations)} {
		if err := e.Conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	ran, err := store.Migrate(ctx, e.Conn, e.Schema, storetest.Quiet())
	if err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	if !slices.ContainsFunc(ran, func(m store.Migration) bool { return m.Version == 4 }) {
		t.Fatalf("upgrade ran %v, want migration 4 among them", ran)
	}
	if n := e.Count(t, "SELECT toUInt64(sum(samples)) FROM %s FINAL", e.Table(store.TableReadings5Min)); n != uint64(len(early)) {
		t.Fatalf("readings_5min holds %d samples after the upgrade, want the %d stored readings", n, len(early))
	}
	// Nothing new: hours and days rebuilt from the filled buckets are what they were.
	if _, err := e.Writer.Write(ctx, store.KindReadings, "t.readings", storetest.AsMessages(t, early[:25], storetest.ReadingKey, 0, 0)); err != nil {
		t.Fatal(err)
	}
	if hourly, daily := e.RollupSnapshot(t); !slices.Equal(hourly, hourlyBefore) || !slices.Equal(daily, dailyBefore) {
		t.Errorf("rollups changed by replaying a stored reading after the upgrade:\nhourly %+v\nwant   %+v", hourly, hourlyBefore)
	}
	// The rest of the hour: the hour counts the old buckets and the new ones.
	if _, err := e.Writer.Write(ctx, store.KindReadings, "t.readings", storetest.AsMessages(t, late, storetest.ReadingKey, 0, int64(len(early)))); err != nil {
		t.Fatal(err)
	}
	for _, tb := range []string{store.TableReadings5Min, store.TableReadingsHourly, store.TableReadingsDaily} {
		if n := e.Count(t, "SELECT toUInt64(sum(samples)) FROM %s FINAL", e.Table(tb)); n != uint64(len(recs)) {
			t.Errorf("%s holds %d samples, want %d", tb, n, len(recs))
		}
	}
}

// The hourly row summed from five-minute rows must equal the one computed from the
// readings directly, including the last valid value and its time.
func TestHourlyFromFiveMinuteRowsEqualsHourlyFromReadings(t *testing.T) {
	e := storetest.NewArchive(t)
	ctx := context.Background()
	recs := storetest.Readings(25*150, time.Date(2025, 6, 1, 10, 17, 0, 0, time.UTC)) // 10:17–12:46
	// In three batches, so that hours are rebuilt from buckets written by earlier batches.
	for i, part := range [][]int{{0, 25 * 50}, {25 * 50, 25 * 100}, {25 * 100, len(recs)}} {
		if _, err := e.Writer.Write(ctx, store.KindReadings, "t.readings", storetest.AsMessages(t, recs[part[0]:part[1]], storetest.ReadingKey, 0, int64(part[0]))); err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
	}
	q := `SELECT count() FROM (
  SELECT site, parameter, toStartOfHour(observed_at) AS hour, count() AS samples, countIf(flag = 'N') AS valid,
      sumIf(value, flag = 'N') AS value_sum, minIf(value, flag = 'N') AS value_min, maxIf(value, flag = 'N') AS value_max,
      argMaxIf(value, toUInt64(observed_at) * 1000 + observed_ms, flag = 'N') AS last_value, maxIf(observed_at, flag = 'N') AS last_at
  FROM %s FINAL GROUP BY site, parameter, hour) AS direct
ALL INNER JOIN (
  SELECT site, parameter, hour, samples, valid, value_sum, value_min, value_max, last_value, last_at FROM %s FINAL) AS rolled
USING site, parameter, hour
WHERE direct.samples = rolled.samples AND direct.valid = rolled.valid AND abs(direct.value_sum - rolled.value_sum) < 1e-9
  AND direct.value_min = rolled.value_min AND direct.value_max = rolled.value_max
  AND direct.last_value = rolled.last_value AND direct.last_at = rolled.last_at`
	total := e.Count(t, "SELECT count() FROM %s FINAL", e.Table(store.TableReadingsHourly))
	if total != 25*3 {
		t.Fatalf("%d hourly rows, want %d (25 series, 3 hours)", total, 25*3)
	}
	if same := e.Count(t, q, e.Table(store.TableReadings), e.Table(store.TableReadingsHourly)); same != total {
		t.Errorf("%d of %d hourly rows equal the aggregate of their readings", same, total)
	}
}
