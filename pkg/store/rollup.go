package store

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Rollups
//
// A materialized view on readings would aggregate every inserted block, duplicates
// included: a replayed batch would be counted twice even though readings itself
// deduplicates. So the rollups are not fed by the inserts. After each batch the archiver
// recomputes the five-minute buckets the batch touched, per site, from `readings FINAL` —
// the deduplicated rows, whatever was inserted how often — and inserts the result with a
// new, higher version into a ReplacingMergeTree(version) (readings_5min). Then it
// recomputes the touched hours from `readings_5min FINAL`, and the touched days from
// `readings_hourly FINAL`, the same way. Recomputing is idempotent: a replayed batch
// rewrites the same numbers with a higher version, and FINAL (or a merge) keeps only the
// newest row per key. The touched buckets are recorded durably before the Kafka offset is
// committed (doc.go, "Rollups off the commit path"), so a crash before the rebuild is
// followed by a rebuild.
//
// Why three levels: the hourly rebuild used to read the whole hour from `readings FINAL`
// for every batch. Now only the touched five-minute buckets are read from readings; the
// hour is summed from at most 12 rows per series and the day from at most 24. Counts,
// sums, minima and maxima compose exactly, the mean stays value_sum / valid, and the last
// value is the one with the greatest last_at (buckets do not overlap, so there are no
// ties between them). Measured on 18.16 (BenchmarkRollupFullHour, 4 million readings in
// the hour) this is only about 15–25% cheaper, not twelve times: FINAL reads whole
// granules (8192 rows) and `site IN (…)` over many sites prunes little by time, so a
// five-minute range reads about as many rows as the hour. Rebuilding less often than once
// per batch, from the touched buckets recorded durably before the commit, is what the
// archiver's rollup loop does; a finer index_granularity on readings (a new table) would
// cut each rebuild further.

// A rebuild recomputes every parameter of the touched sites over the touched range, not
// just the touched (site, parameter) pairs: a station reports its parameters together, so
// this is rarely more work, and `site IN (…)` uses the primary key cheaply, where a tuple
// IN over (site, parameter) pairs cost ClickHouse 18.16 about a second per 10,000 pairs.
//
// Concurrency: a rebuild reads every row whose insert returned before its version was
// taken, and versions grow with time (nanoseconds, strictly increasing per process), so the
// newest version of a key always reflects every insert that preceded it; each level is
// rebuilt only after the level below it returned.

const (
	// bucketSeconds is the width of the finest rollup (readings_5min).
	bucketSeconds = 300
	// bucketGap joins touched five-minute buckets of one site that are at most this far
	// apart into one range: a live batch's neighbouring buckets are one query, while a
	// straggler from an hour ago does not make the query read the hour in between.
	bucketGap = 30 * 60
	// rebuildGap joins touched hours of one site that are at most this far apart into one
	// range, so that a batch spanning a few hours is one range, not one query per hour.
	// Hours are rebuilt from readings_5min (12 rows per series and hour), so a wide range
	// is cheap.
	rebuildGap = 6 * 3600
	// maxSitesPerQuery bounds the IN list of a rebuild query (max_query_size is 256 KiB).
	maxSitesPerQuery = 2000
)

// touchedSet is, per site, the UTC five-minute bucket starts (Unix seconds) a batch has
// readings in.
type touchedSet map[string]map[int64]struct{}

func (t touchedSet) add(site string, observed time.Time) {
	buckets := t[site]
	if buckets == nil {
		buckets = map[int64]struct{}{}
		t[site] = buckets
	}
	buckets[observed.UTC().Truncate(bucketSeconds*time.Second).Unix()] = struct{}{}
}

// hoursOf returns the UTC hour starts of a site's touched buckets.
func hoursOf(buckets map[int64]struct{}) map[int64]struct{} {
	hours := make(map[int64]struct{}, 1)
	for b := range buckets {
		hours[b-b%3600] = struct{}{}
	}
	return hours
}

// bucketSpans returns, per site, the ranges of five-minute buckets to rebuild.
func (t touchedSet) bucketSpans() map[string][]span {
	out := make(map[string][]span, len(t))
	for k, buckets := range t {
		spans := make([]span, 0, len(buckets))
		for b := range buckets {
			spans = append(spans, span{b, b + bucketSeconds})
		}
		out[k] = mergeSpans(spans, bucketGap)
	}
	return out
}

// span is a time range [from, to) in Unix seconds.
type span struct{ from, to int64 }

// hourSpans returns, per site, the ranges of hours to rebuild.
func (t touchedSet) hourSpans() map[string][]span {
	out := make(map[string][]span, len(t))
	for k, buckets := range t {
		hours := hoursOf(buckets)
		spans := make([]span, 0, len(hours))
		for h := range hours {
			spans = append(spans, span{h, h + 3600})
		}
		out[k] = mergeSpans(spans, rebuildGap)
	}
	return out
}

// daySpans returns, per site, the ranges of local days (in tz) to rebuild. An hour belongs
// to the local day its start falls in.
func (t touchedSet) daySpans(tz *time.Location) map[string][]span {
	out := make(map[string][]span, len(t))
	for k, buckets := range t {
		days := map[span]struct{}{}
		for h := range hoursOf(buckets) {
			lt := time.Unix(h, 0).In(tz)
			start := time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, tz)
			days[span{start.Unix(), start.AddDate(0, 0, 1).Unix()}] = struct{}{}
		}
		spans := make([]span, 0, len(days))
		for d := range days {
			spans = append(spans, d)
		}
		out[k] = mergeSpans(spans, 0)
	}
	return out
}

// mergeSpans sorts spans and merges those that overlap or lie at most gap seconds apart.
func mergeSpans(spans []span, gap int64) []span {
	if len(spans) == 0 {
		return nil
	}
	slices.SortFunc(spans, func(a, b span) int { return cmp.Compare(a.from, b.from) })
	out := []span{spans[0]}
	for _, s := range spans[1:] {
		last := &out[len(out)-1]
		if s.from-last.to <= gap {
			last.to = max(last.to, s.to)
			continue
		}
		out = append(out, s)
	}
	return out
}

// rebuildPlan is one rebuild query: these sites over this range.
type rebuildPlan struct {
	span  span
	sites []string
}

// planRebuilds groups the sites that share a range into one query (the live case: every
// site of a batch touches the same current hour), at most maxSites per query, in a
// deterministic order.
func planRebuilds(perSite map[string][]span, maxSites int) []rebuildPlan {
	bySpan := map[span][]string{}
	for site, spans := range perSite {
		for _, s := range spans {
			bySpan[s] = append(bySpan[s], site)
		}
	}
	keys := make([]span, 0, len(bySpan))
	for s := range bySpan {
		keys = append(keys, s)
	}
	slices.SortFunc(keys, func(a, b span) int {
		return cmp.Or(cmp.Compare(a.from, b.from), cmp.Compare(a.to, b.to))
	})
	var out []rebuildPlan
	for _, s := range keys {
		sites := bySpan[s]
		slices.Sort(sites)
		for len(sites) > 0 {
			n := min(len(sites), maxSites)
			out = append(out, rebuildPlan{span: s, sites: sites[:n]})
			sites = sites[n:]
		}
	}
	return out
}

// sitesIn returns the right side of `site IN …`.
func sitesIn(sites []string) string {
	parts := make([]string, len(sites))
	for i, s := range sites {
		parts[i] = quoteString(s)
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// bucketSelectSQL aggregates the deduplicated readings of the given sites (nil: all) in
// [from, to) into five-minute rows with version; the columns are those of readings_5min.
// Statistics are over valid readings (flag N), samples over all.
//
// FINAL, not argMax(…, version) per reading in a subquery: the subquery is about twice as
// fast on 18.16, but its parallel aggregation feeds the sums in varying order, so a
// replayed batch changed value_sum in the last bits and means were no longer identical.
// FINAL yields the rows in key order on one stream, so the sums are reproducible.
func bucketSelectSQL(s Schema, sites []string, from, to int64, version string) string {
	// A non-detect enters the statistics at half its detection limit (环办监测函〔2020〕82号,
	// point 7); its last value stays the limit it was reported with.
	return fmt.Sprintf(`SELECT site, parameter, toStartOfFiveMinute(observed_at) AS b, any(unit), count(), countIf(flag = 'N'),
    sumIf(if(below_dl = 1, value / 2, value), flag = 'N'), minIf(if(below_dl = 1, value / 2, value), flag = 'N'),
    maxIf(if(below_dl = 1, value / 2, value), flag = 'N'),
    argMaxIf(value, toUInt64(observed_at) * 1000 + observed_ms, flag = 'N'), maxIf(observed_at, flag = 'N'),
    %s,
    countIf(flag = 'N' AND below_dl = 1), countIf(flag = 'N' AND interval_kind != 'lab'),
    sumIf(if(below_dl = 1, value / 2, value), flag = 'N' AND interval_kind != 'lab'),
    minIf(if(below_dl = 1, value / 2, value), flag = 'N' AND interval_kind != 'lab'),
    maxIf(if(below_dl = 1, value / 2, value), flag = 'N' AND interval_kind != 'lab'),
    countIf(flag = 'N' AND below_dl = 1 AND interval_kind != 'lab')
FROM %s FINAL
WHERE observed_at >= toDateTime(%d) AND observed_at < toDateTime(%d)%s
GROUP BY site, parameter, b`,
		version, s.Table(TableReadings), from, to, siteFilter(sites))
}

// siteFilter returns the `AND site IN …` condition, or nothing for every site.
func siteFilter(sites []string) string {
	if sites == nil {
		return ""
	}
	return " AND site IN " + sitesIn(sites)
}

// bucketRebuildSQL recomputes the five-minute buckets of p from the deduplicated readings.
func bucketRebuildSQL(s Schema, p rebuildPlan, version uint64) string {
	return s.insertQuery(TableReadings5Min, fiveMinTable.columnNames()) + "\n" +
		bucketSelectSQL(s, p.sites, p.span.from, p.span.to, fmt.Sprintf("toUInt64(%d)", version))
}

// hourlyRebuildSQL recomputes the hours of p from the deduplicated five-minute rollup,
// which the caller rebuilt first for every bucket the batch touched.
func hourlyRebuildSQL(s Schema, p rebuildPlan, version uint64) string {
	return fmt.Sprintf(`%s
SELECT site, parameter, toStartOfHour(bucket) AS h, any(unit), sum(samples), sum(valid),
    sum(value_sum), minIf(value_min, valid > 0), maxIf(value_max, valid > 0),
    argMaxIf(last_value, last_at, valid > 0), maxIf(last_at, valid > 0),
    toUInt64(%d),
    sum(below_dl), sum(auto_valid), sum(auto_sum), minIf(auto_min, auto_valid > 0), maxIf(auto_max, auto_valid > 0),
    sum(auto_below_dl)
FROM %s FINAL
WHERE bucket >= toDateTime(%d) AND bucket < toDateTime(%d) AND site IN %s
GROUP BY site, parameter, h`,
		s.insertQuery(TableReadingsHourly, hourlyTable.columnNames()), version,
		s.Table(TableReadings5Min), p.span.from, p.span.to, sitesIn(p.sites))
}

// dailyRebuildSQL recomputes the local days of p from the deduplicated hourly rollup.
func dailyRebuildSQL(s Schema, p rebuildPlan, tz string, version uint64) string {
	return fmt.Sprintf(`%s
SELECT site, parameter, toDate(hour, %s) AS d, any(unit), sum(samples), sum(valid), toUInt8(countIf(valid > 0)),
    sum(value_sum), minIf(value_min, valid > 0), maxIf(value_max, valid > 0),
    argMaxIf(last_value, last_at, valid > 0), maxIf(last_at, valid > 0),
    toUInt64(%d),
    sum(below_dl), sum(auto_valid), sum(auto_sum), minIf(auto_min, auto_valid > 0), maxIf(auto_max, auto_valid > 0),
    sum(auto_below_dl)
FROM %s FINAL
WHERE hour >= toDateTime(%d) AND hour < toDateTime(%d) AND site IN %s
GROUP BY site, parameter, d`,
		s.insertQuery(TableReadingsDaily, dailyTable.columnNames()), quoteString(tz), version,
		s.Table(TableReadingsHourly), p.span.from, p.span.to, sitesIn(p.sites))
}
