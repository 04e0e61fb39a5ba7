package store

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestMergeSpansJoinsCloseRanges(t *testing.T) {
	h := int64(3600)
	tests := []struct {
		name string
		in   []span
		gap  int64
		want []span
	}{
		{"empty", nil, 0, nil},
		{"one hour", []span{{0, h}}, rebuildGap, []span{{0, h}}},
		{"adjacent hours, unsorted", []span{{2 * h, 3 * h}, {0, h}, {h, 2 * h}}, 0, []span{{0, 3 * h}}},
		{"gap within limit", []span{{0, h}, {5 * h, 6 * h}}, rebuildGap, []span{{0, 6 * h}}},
		{"gap beyond limit", []span{{0, h}, {100 * h, 101 * h}}, rebuildGap, []span{{0, h}, {100 * h, 101 * h}}},
	}
	for _, tt := range tests {
		if got := mergeSpans(slices.Clone(tt.in), tt.gap); !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestLiveBatchIsOneRebuildQuery(t *testing.T) {
	ts := touchedSet{}
	now := time.Date(2025, 6, 1, 10, 20, 0, 0, time.UTC)
	for _, site := range []string{"S3", "S1", "S2"} {
		ts.add(site, now)
		ts.add(site, now.Add(time.Minute))
	}
	plans := planRebuilds(ts.hourSpans(), maxSitesPerQuery)
	if len(plans) != 1 || !slices.Equal(plans[0].sites, []string{"S1", "S2", "S3"}) {
		t.Fatalf("plans = %+v, want one query for the 3 sites, sorted", plans)
	}
	if p := plans[0]; p.span != (span{now.Truncate(time.Hour).Unix(), now.Truncate(time.Hour).Unix() + 3600}) {
		t.Errorf("span = %v", p.span)
	}
	// Chunked when the IN list would be too long.
	if got := planRebuilds(ts.hourSpans(), 2); len(got) != 2 || len(got[0].sites) != 2 || len(got[1].sites) != 1 {
		t.Errorf("chunks of 2: %+v", got)
	}
}

func TestBackfillSpansAreSeparateFromLiveOnes(t *testing.T) {
	ts := touchedSet{}
	now := time.Date(2025, 6, 1, 10, 20, 0, 0, time.UTC)
	ts.add("S1", now)
	ts.add("S2", now)
	ts.add("S2", now.AddDate(0, -1, 0)) // a month-old reading: its own range, not a month of hours
	plans := planRebuilds(ts.hourSpans(), maxSitesPerQuery)
	if len(plans) != 2 || !slices.Equal(plans[0].sites, []string{"S2"}) || !slices.Equal(plans[1].sites, []string{"S1", "S2"}) {
		t.Fatalf("plans = %+v, want the old hour for S2, then the current hour for both", plans)
	}
	if d := plans[0].span.to - plans[0].span.from; d != 3600 {
		t.Errorf("backfill span is %d s, want one hour", d)
	}
}

func TestDaySpansUseLocalDays(t *testing.T) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	ts := touchedSet{}
	// 2025-06-01 17:30 UTC is 2025-06-02 01:30 in Shanghai.
	ts.add("S1", time.Date(2025, 6, 1, 17, 30, 0, 0, time.UTC))
	got := ts.daySpans(shanghai)["S1"]
	start := time.Date(2025, 6, 2, 0, 0, 0, 0, shanghai)
	if want := []span{{start.Unix(), start.AddDate(0, 0, 1).Unix()}}; !slices.Equal(got, want) {
		t.Errorf("day spans = %v, want %v (local day 2025-06-02)", got, want)
	}
}

func TestSitesInQuotes(t *testing.T) {
	if got := sitesIn([]string{"S1", "O'Brien"}); got != `('S1', 'O\'Brien')` {
		t.Errorf("sitesIn = %s", got)
	}
}

func TestRebuildSQLReadsDeduplicatedRows(t *testing.T) {
	s := Schema{Database: "rw"}
	p := rebuildPlan{span: span{3600, 7200}, sites: []string{"S1"}}
	m := bucketRebuildSQL(s, p, 41)
	for _, want := range []string{"INSERT INTO `rw`.`readings_5min` (", "FROM `rw`.`readings` FINAL", "toStartOfFiveMinute(observed_at)", "toDateTime(3600)", "site IN ('S1')", "toUInt64(41)"} {
		if !strings.Contains(m, want) {
			t.Errorf("five-minute rebuild lacks %q:\n%s", want, m)
		}
	}
	h := hourlyRebuildSQL(s, p, 42)
	for _, want := range []string{"INSERT INTO `rw`.`readings_hourly` (", "FROM `rw`.`readings_5min` FINAL", "toDateTime(3600)", "site IN ('S1')", "toUInt64(42)"} {
		if !strings.Contains(h, want) {
			t.Errorf("hourly rebuild lacks %q:\n%s", want, h)
		}
	}
	d := dailyRebuildSQL(s, p, "Asia/Shanghai", 43)
	for _, want := range []string{"INSERT INTO `rw`.`readings_daily` (", "FROM `rw`.`readings_hourly` FINAL", "toDate(hour, 'Asia/Shanghai')"} {
		if !strings.Contains(d, want) {
			t.Errorf("daily rebuild lacks %q:\n%s", want, d)
		}
	}
}

func TestLiveBatchRebuildsOnlyItsFiveMinuteBuckets(t *testing.T) {
	at := time.Date(2025, 6, 1, 10, 20, 0, 0, time.UTC)
	b := at.Unix()
	tests := []struct {
		name  string
		times []time.Time
		want  []span
	}{
		{"one bucket", []time.Time{at, at.Add(4 * time.Minute)}, []span{{b, b + 300}}},
		{"neighbouring buckets are one range", []time.Time{at, at.Add(7 * time.Minute)}, []span{{b, b + 600}}},
		{"a straggler from an hour ago is its own range", []time.Time{at, at.Add(-time.Hour)}, []span{{b - 3600, b - 3300}, {b, b + 300}}},
	}
	for _, tt := range tests {
		ts := touchedSet{}
		for _, x := range tt.times {
			ts.add("S1", x)
		}
		if got := ts.bucketSpans()["S1"]; !slices.Equal(got, tt.want) {
			t.Errorf("%s: bucket spans %v, want %v", tt.name, got, tt.want)
		}
		// Hours and days still follow the hours the buckets lie in.
		hours := ts.hourSpans()["S1"]
		if len(hours) != 1 || hours[0].to-hours[0].from > 2*3600 {
			t.Errorf("%s: hour spans %v", tt.name, hours)
		}
	}
}
