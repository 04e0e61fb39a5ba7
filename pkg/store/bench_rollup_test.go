package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// legacyHourlyRebuildSQL is how hours were rebuilt before migration 4: from the readings
// of the whole hour. Kept here only to measure against.
func legacyHourlyRebuildSQL(s Schema, p rebuildPlan, version uint64) string {
	return fmt.Sprintf(`%s
SELECT site, parameter, toStartOfHour(observed_at) AS h, any(unit), count(), countIf(flag = 'N'),
    sumIf(value, flag = 'N'), minIf(value, flag = 'N'), maxIf(value, flag = 'N'),
    argMaxIf(value, toUInt64(observed_at) * 1000 + observed_ms, flag = 'N'), maxIf(observed_at, flag = 'N'),
    toUInt64(%d)
FROM %s FINAL
WHERE observed_at >= toDateTime(%d) AND observed_at < toDateTime(%d) AND site IN %s
GROUP BY site, parameter, h`,
		s.insertQuery(TableReadingsHourly, hourlyTable.columnNames()), version,
		s.Table(TableReadings), p.span.from, p.span.to, sitesIn(p.sites))
}

// BenchmarkRollupFullHour measures the rollup rebuild of one 50,000-row batch (500 sites ×
// 20 parameters × 5 minutes) landing in an hour that already holds fullHourRows readings,
// as it does at a sustained rate (10,000 readings/s fill an hour with 36 million):
//
//	rollup-s/batch         the archiver's rebuild (five-minute buckets, hours, days)
//	legacy-hourly-s/batch  the hour rebuilt from readings FINAL, as before migration 4
//
//	RIVERWATCH_INTEGRATION=1 go test -run '^$' -bench BenchmarkRollupFullHour -benchtime 10x ./pkg/store/
func BenchmarkRollupFullHour(b *testing.B) {
	const fullHourRows = 4_000_000
	e := newEnv(b)
	ctx := context.Background()
	hour := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	fill := fmt.Sprintf(`%s
SELECT concat('fill-', toString(number)), concat('SITE-', toString(intDiv(number, 3600) %% 500)),
    concat('mnSITE-', toString(intDiv(number, 3600) %% 500)), concat('p', toString(intDiv(number, 1800000) %% 20)),
    toFloat64(number %% 1000) / 10, 'mg/L', NULL, NULL, 'min', 'N',
    toDateTime(%d + number %% 3600), toUInt16(0), toDateTime(%d + number %% 3600 + 1), 'hj212', toUInt64(1)
FROM system.numbers LIMIT %d`,
		e.schema.insertQuery(TableReadings, readingsTable.columnNames()), hour, hour, fullHourRows)
	if err := e.conn.Exec(ctx, fill); err != nil {
		b.Fatalf("fill the hour: %v", err)
	}
	var tNew, tLegacy time.Duration
	b.ResetTimer()
	b.StopTimer()
	for i := range b.N {
		_, msgs := benchBatch(b, i%12) // the twelve five-minute slices of the hour
		br := decodeBatch(KindReadings, "bench", msgs)
		if err := e.w.insert(ctx, br.readings.block(), ""); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		b.StartTimer()
		if err := e.w.rebuildRollups(ctx, br.touched); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		tNew += time.Since(start)

		start = time.Now()
		for _, p := range planRebuilds(br.touched.hourSpans(), maxSitesPerQuery) {
			if err := e.conn.Exec(ctx, legacyHourlyRebuildSQL(e.schema, p, e.w.nextVersion())); err != nil {
				b.Fatal(err)
			}
		}
		tLegacy += time.Since(start)
	}
	for _, tb := range []string{TableReadings5Min, TableReadingsHourly, TableReadingsDaily} {
		var d dto.Metric
		if err := e.m.RollupSeconds.WithLabelValues(tb).(prometheus.Metric).Write(&d); err == nil {
			b.ReportMetric(d.GetHistogram().GetSampleSum()/float64(d.GetHistogram().GetSampleCount()), tb+"-s/batch")
		}
	}
	b.ReportMetric(tNew.Seconds()/float64(b.N), "rollup-s/batch")
	b.ReportMetric(tLegacy.Seconds()/float64(b.N), "legacy-hourly-s/batch")
}
