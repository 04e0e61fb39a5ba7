package api_test

import (
	"encoding/json"
	"math/rand/v2"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/store"
	"github.com/riverwatch/riverwatch/pkg/store/storetest"
	"github.com/riverwatch/riverwatch/services/api/internal/api"
)

// benchYear loads a year of synthetic data for one site — six parameters every ten minutes,
// 315 360 readings — through the archiver's insert path (which builds the hourly and daily
// rollups), and returns an API over it.
func benchYear(b *testing.B) (*env, time.Time) {
	b.Helper()
	e := storetest.NewArchive(b)
	end := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	start := end.AddDate(-1, 0, 0)
	params := map[string]float64{"ph": 7.6, "do": 6.5, "codmn": 4.5, "nh3n": 0.6, "tp": 0.15, "temp": 10}
	loadStart := time.Now()
	var batch []message.Reading
	n := 0
	flush := func() {
		storetest.Write(b, e, store.KindReadings, storetest.ReadingKey, batch...)
		n += len(batch)
		batch = batch[:0]
	}
	for t, i := start, 0; t.Before(end); t, i = t.Add(10*time.Minute), i+1 {
		for p, base := range params {
			r := reading("STH-S2", p, base*(1+0.2*float64(i%37)/37), t, message.FlagNormal)
			r.Interval = message.IntervalMinute
			r.ID = message.ReadingID(r.Site, p, r.Interval, t)
			batch = append(batch, r)
		}
		if len(batch) >= 30000 {
			flush()
		}
	}
	flush()
	b.Logf("loaded %d readings (one site × %d parameters × 10 min × 1 year) through the archiver in %v", n, len(params), time.Since(loadStart).Round(time.Millisecond))
	env := newEnv(b, func(o *api.Options) { o.Store = e.Reader; o.Now = func() time.Time { return end } })
	return env, start
}

// BenchmarkSeries times GET /api/v1/sites/{id}/readings on real ClickHouse over a year of
// data: the 30-day series (hourly rollup, six parameters, ~720 points each) the issue asks
// for, and beside it a raw day and a daily year. Each iteration asks a different window.
// p50 and p95 of the request latency are reported as metrics.
//
//	RIVERWATCH_INTEGRATION=1 go test ./services/api/internal/api -run '^$' -bench BenchmarkSeries -benchtime 200x
func BenchmarkSeries(b *testing.B) {
	e, start := benchYear(b) // skips with the reason unless RIVERWATCH_INTEGRATION=1
	for _, c := range []struct {
		name       string
		span       time.Duration
		resolution string
		force      bool // ask for the resolution instead of letting the span choose
		points     int  // per parameter
	}{
		{"30d-hourly", 30 * 24 * time.Hour, api.ResolutionHour, false, 720},
		// The same window from the raw readings, without the rollups: what they save.
		{"30d-raw", 30 * 24 * time.Hour, api.ResolutionRaw, true, 4320},
		{"1d-raw", 24 * time.Hour, api.ResolutionRaw, false, 144},
		{"365d-daily", 364 * 24 * time.Hour, api.ResolutionDay, false, 364},
	} {
		b.Run(c.name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			maxStart := int(365*24*time.Hour-c.span) / int(time.Hour)
			var lat []time.Duration
			b.ResetTimer()
			for b.Loop() {
				from := start.Add(time.Duration(rng.IntN(maxStart)) * time.Hour)
				q := url.Values{"from": {from.Format(time.RFC3339)}, "to": {from.Add(c.span).Format(time.RFC3339)}}
				if c.force {
					q.Set("resolution", c.resolution)
				}
				req := httptest.NewRequest("GET", "/api/v1/sites/STH-S2/readings?"+q.Encode(), nil)
				req.Header.Set("Authorization", "Bearer "+viewerChangji)
				rec := httptest.NewRecorder()
				t0 := time.Now()
				e.handler.ServeHTTP(rec, req)
				lat = append(lat, time.Since(t0))
				if rec.Code != 200 {
					b.Fatalf("%d %s", rec.Code, rec.Body)
				}
				var r api.ReadingsResponse
				if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
					b.Fatal(err)
				}
				if r.Resolution != c.resolution || len(r.Series) != 6 || abs(len(r.Series[0].Points)-c.points) > 2 {
					b.Fatalf("%s: resolution %s, %d series, %d points", c.name, r.Resolution, len(r.Series), len(r.Series[0].Points))
				}
			}
			slices.Sort(lat)
			pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
			b.ReportMetric(pct(0.50), "p50-ms")
			b.ReportMetric(pct(0.95), "p95-ms")
			b.Logf("%s: %d requests, p50 %.1f ms, p95 %.1f ms, max %.1f ms", c.name, len(lat), pct(0.5), pct(0.95), pct(1))
		})
	}
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
